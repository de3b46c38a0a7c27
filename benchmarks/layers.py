"""All layer benchmarks of docs/benchmarks.md in one run: SMA, distributions, diffusion sampler.

    python benchmarks/layers.py

Runs ``sma_speed.py`` (stepwise monotonic expectation time against sequence length),
``distribution_speed.py`` (MoL / Gaussian log_prob and sample throughput) and
``sampler_overhead.py`` (sampler time beyond the network) one after another with their default
settings; each prints a markdown table.
"""

import subprocess
import sys
from pathlib import Path

SCRIPTS = ("sma_speed.py", "distribution_speed.py", "sampler_overhead.py")


def main():
    here = Path(__file__).resolve().parent
    for script in SCRIPTS:
        print(f"\n### {script}\n", flush=True)
        subprocess.run([sys.executable, str(here / script)], check=True)


if __name__ == "__main__":
    main()
