"""FLOPs of one pass of lmnt-com/wavegrad's network, counted by PyTorch's FLOP counter.

Runs in the peer's virtual environment (torch and ``wavegrad==0.1.5``, never a ttszoo
dependency; set up as ``benchmarks/vocoder_speed.py`` says). Builds ``wavegrad.model.WaveGrad``
with the package's default parameters, runs one pass on zeros of ``--samples`` audio samples and
the matching mel frames, and prints ``{"flops": N}``: what ``torch.utils.flop_counter``
counts, i.e. the convolutions (2 FLOPs per multiply-add; no biases or activations), the same
convention as ``benchmarks/wavegrad_flops.py`` uses for ttszoo's network.

    /work/peer_venv/bin/python benchmarks/wavegrad_peer_flops.py --samples 22200
"""

import argparse
import json

import torch
from torch.utils.flop_counter import FlopCounterMode
from wavegrad.model import WaveGrad
from wavegrad.params import params

N_MELS = 128  # lmnt's first convolution takes 128 mel bands (fixed in wavegrad/model.py)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, required=True)
    args = parser.parse_args()
    if args.samples % params.hop_samples:
        parser.error(f"--samples must be a multiple of the hop ({params.hop_samples}).")
    model = WaveGrad(params).eval()
    audio = torch.zeros(1, args.samples)
    mel = torch.zeros(1, N_MELS, args.samples // params.hop_samples)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(audio, mel, torch.zeros(1))
    print(json.dumps({"flops": counter.get_total_flops()}))


if __name__ == "__main__":
    main()
