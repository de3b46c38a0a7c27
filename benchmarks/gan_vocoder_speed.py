"""Real-time factors of the GAN vocoders on the CPU: HiFi-GAN V1 and V3, Vocos.

Batch 1, 1 s and 10 s of 22.05 kHz audio (hop 256, 80 mel bands, random mel and the models'
initial weights: the speed does not depend on the weights), float32 and bf16 (the
``mixed_bfloat16`` policy). ``vocode`` runs inside one ``tf.function``: by default
XLA-compiled in float32 and in bf16 through TensorFlow's oneDNN kernels without XLA (XLA's CPU
backend has no bf16 gain, docs/benchmarks.md); ``--xla on|off`` forces one way. Reported: the median seconds per utterance over ``--rounds`` timed runs
after one warm-up, and the real-time factor (seconds of compute per second of audio). The
10 s input is generated window by window (``context_frames=32`` on each side of 256- or
512-frame chunks), as ``vocode`` does for users.

    python benchmarks/gan_vocoder_speed.py --rounds 3

The PyTorch peers (``parallel-wavegan``'s HiFi-GAN generator and the ``vocos`` package) are not
timed here: they need their own virtual environment and a weight copy (docs/vocoders_gan.md).
"""

import argparse
import json
import math
import os
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from ttszoo.models.hifigan import HiFiGAN
from ttszoo.models.vocos import Vocos

SAMPLE_RATE, HOP, N_MELS = 22050, 256, 80
V3 = {
    "upsample_rates": (8, 8, 4),
    "upsample_kernel_sizes": (16, 16, 8),
    "initial_channels": 256,
    "resblock_type": "2",
    "resblock_kernel_sizes": (3, 5, 7),
    "resblock_dilations": ((1, 2), (2, 6), (3, 12)),
}
MODELS = {
    "hifigan_v1": lambda: HiFiGAN(n_mels=N_MELS),
    "hifigan_v3": lambda: HiFiGAN(n_mels=N_MELS, **V3),
    "vocos": lambda: Vocos(n_mels=N_MELS, hop_length=HOP, n_fft=1024),
}


def time_model(name, precision, seconds, rounds, xla="auto"):
    """Median seconds of ``vocode`` on ``seconds`` of audio, batch 1; ``xla`` "auto" compiles
    float32 with XLA and runs bf16 through oneDNN, "on" and "off" force it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        model = MODELS[name]()
        frames = math.ceil(seconds * SAMPLE_RATE / HOP)
        mel = tf.random.uniform([1, frames, N_MELS], seed=1)
        model.generator.build(mel.shape)
        vocode = tf.function(lambda m: model.vocode(m)["audio"], jit_compile=precision == "float32")
        audio = vocode(mel)
        assert audio.shape == (1, frames * HOP) and np.all(np.isfinite(audio.numpy()))
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            vocode(mel).numpy()
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    finally:
        keras.config.set_dtype_policy(previous)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--seconds", nargs="*", type=float, default=[1.0, 10.0])
    parser.add_argument("--precisions", nargs="*", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--xla", choices=["auto", "on", "off"], default="auto")
    args = parser.parse_args()
    print(f"CPUs: {os.cpu_count()}, load average before: {os.getloadavg()}")
    rows = []
    for name in args.models:
        for precision in args.precisions:
            for seconds in args.seconds:
                median = time_model(name, precision, seconds, args.rounds, args.xla)
                row = {
                    "model": name,
                    "precision": precision,
                    "xla": args.xla,
                    "audio_s": seconds,
                    "median_s": round(median, 4),
                    "rtf": round(median / seconds, 4),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
