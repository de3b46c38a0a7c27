"""Speak a sentence with trained model directories.

python examples/synthesize.py runs/t2m runs/ssrn "A sentence to speak." hello.wav
"""

import sys

from ttszoo import Synthesizer
from ttszoo.audio import save_wav


def main(acoustic_dir, vocoder_dir, text, out_path):
    synthesizer = Synthesizer.from_model_dirs(acoustic_dir, vocoder=vocoder_dir or None)
    waveform, sample_rate = synthesizer.synthesize(text)
    save_wav(out_path, waveform, sample_rate)
    print(f"Wrote {out_path} ({len(waveform) / sample_rate:.2f} s at {sample_rate} Hz)")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
