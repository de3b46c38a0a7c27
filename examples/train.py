"""Train a gin-configured model, the same way `ttszoo train` does.

python examples/train.py runs/t2m recipes/dctts/text2mel_demo.gin demo_output/records
"""

import sys

from ttszoo.training import ModelDirectory, parse_gin, train


def main(model_dir, gin_file, records_dir):
    # A resumed run starts from the settings saved in the model directory.
    parse_gin([gin_file], operative_config=ModelDirectory(model_dir).operative_config())
    logs = train(model_dir=model_dir, records_dir=records_dir)
    print(f"Trained to step {logs['step']}: loss {logs.get('loss', float('nan')):.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
