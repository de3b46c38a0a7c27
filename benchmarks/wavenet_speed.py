"""WaveNet generation speed: queue-based incremental steps against naive recomputation.

Both generate sample by sample inside one XLA-compiled ``tf.while_loop`` with a static trip
count and the same weights:
  * fast (``WaveNetVocoder.generate``): one network step per sample from per-layer queues
    (Paine et al. 2016, Fast WaveNet), so the cost per sample does not depend on the receptive
    field;
  * naive: for each sample, the parallel network over the last ``receptive_field`` samples,
    keeping only its last output.
The naive loop of the LJSpeech-sized model takes minutes on a CPU; it runs only with
``--naive_ljspeech``. Prints samples/s, the speed-up and the real-time factor (seconds of compute per second of
22.05 kHz audio; below 1 is faster than real time) as a markdown table, and the 1-minute
load average before and after (the machine is shared). Fast and naive take turns in an order
that reverses every round; each is the least of N rounds.

    python benchmarks/wavenet_speed.py [--repeats 3]
"""

import argparse
import os

import tensorflow as tf
from timing import time_runs

import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo.models import WaveNetVocoder

SAMPLE_RATE, HOP = 22050, 276
SMALL = dict(
    residual_channels=32,
    gate_channels=64,
    skip_channels=32,
    kernel_size=2,
    num_layers=10,
    dilation_cycle=10,
    condition_channels=32,
    num_mixtures=4,
)  # gin/models/wavenet_small.gin: receptive field 1024 samples
LJSPEECH = dict(
    residual_channels=128,
    gate_channels=256,
    skip_channels=128,
    kernel_size=3,
    num_layers=24,
    dilation_cycle=8,
    condition_channels=128,
    num_mixtures=10,
)  # gin/models/wavenet.gin: receptive field 1531 samples


def naive_generator(model, num_samples):
    """Generation that reruns the parallel network over the receptive field for every sample."""
    window = model.receptive_field

    @tf.function(jit_compile=True)
    def generate(mel, seed):
        batch = tf.shape(mel)[0]
        condition = model.upsampler(model.frame_conditioning(mel))[:, :num_samples]
        condition = tf.pad(condition, [[0, 0], [window - 1, 0], [0, 0]])
        history = tf.zeros([batch, window], tf.float32)  # previous samples, newest last
        outputs = tf.TensorArray(tf.float32, size=num_samples)

        def body(position, history, outputs):
            window_condition = tf.slice(
                condition, [0, position, 0], [batch, window, condition.shape[-1]]
            )
            params = model.network(history, window_condition)[:, -1]
            step_seed = tf.stack([seed[0], seed[1] + position])
            sample = tf.cast(model.distribution(params).sample(seed=step_seed), tf.float32)
            history = tf.concat([history[:, 1:], sample[:, None]], axis=1)
            return position + 1, history, outputs.write(position, sample)

        _, _, outputs = tf.while_loop(
            lambda position, *_: position < num_samples,
            body,
            (tf.constant(0), history, outputs),
            maximum_iterations=num_samples,
        )
        return tf.transpose(outputs.stack())

    return generate


def measure(name, settings, batch, fast_frames, naive_frames, repeats):
    """Prints one table row: fast and naive generation of random mels, taking turns in an order
    that reverses every round (``time_runs``), least of ``repeats`` rounds after a compile run."""
    model = WaveNetVocoder(hop_length=HOP, n_mels=80, **settings)
    model.build()
    mel = tf.random.stateless_uniform([batch, fast_frames, 80], seed=[1, 2])
    runs = {"fast": lambda: model.generate(mel, seed=0)}
    if naive_frames:
        naive = naive_generator(model, naive_frames * HOP)
        seed = tf.constant([0, 0])
        runs["naive"] = lambda: naive(mel[:, :naive_frames], seed)
    best = {run: min(times) for run, times in time_runs(runs, repeats).items()}
    fast_rate = batch * fast_frames * HOP / best["fast"]
    naive_column, ratio_column = "not run", "-"
    if naive_frames:
        naive_rate = batch * naive_frames * HOP / best["naive"]
        naive_column, ratio_column = f"{naive_rate:,.0f}", f"{fast_rate / naive_rate:.0f}x"
    print(
        f"| {name} | {model.receptive_field} | {batch} | {fast_rate:,.0f} | {naive_column} | "
        f"{ratio_column} | {SAMPLE_RATE / fast_rate * batch:.1f} | "
        f"{SAMPLE_RATE / fast_rate:.2f} |",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--naive_ljspeech",
        action="store_true",
        help="also time naive generation for the LJSpeech-sized model (minutes on a CPU)",
    )
    parser.add_argument(
        "--small_only", action="store_true", help="skip the LJSpeech-sized model's row"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print(
        "| model | receptive field (samples) | batch | fast (samples/s) | naive (samples/s) | "
        "speed-up | RTF per utterance | RTF per batch-second of audio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    measure("small (demo)", SMALL, 1, 40, 2, args.repeats)
    measure("small (demo)", SMALL, 8, 20, 1, args.repeats)
    if not args.small_only:
        measure("LJSpeech", LJSPEECH, 1, 10, 1 if args.naive_ljspeech else 0, args.repeats)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
