"""DCTTS inference speed on the CPU: time against length, cached steps against re-running.

Builds the demo-size Text2Mel and SSRN (recipes/dctts/*_demo.gin, 16 kHz demo features) with
random weights (speed does not depend on the weights) and measures, best of --repeats:

* the cached frame-by-frame decoder (``synthesize_autoregressively``, stop rule off so that
  exactly L frames are made) for several lengths L: the time per frame should stay flat, i.e.
  the total grows linearly;
* the naive decoder that re-runs the parallel Text2Mel over the whole prefix for every new
  frame (what Kyubyong/dc_tts' synthesize.py does), for the shorter lengths: quadratic;
* the real-time factor (compute seconds / audio seconds) of Text2Mel + SSRN, and of
  Text2Mel + SSRN + Griffin-Lim (50 iterations), for the longest length.

    python benchmarks/dctts_inference.py
"""

import argparse
import os
import time

import tensorflow as tf

import gin
from ttszoo.audio import AudioConfig, griffin_lim
from ttszoo.models import get_model
from ttszoo.models.dctts.inference import synthesize_autoregressively
from ttszoo.training import parse_gin


def best_time(function, repeats):
    function()  # trace
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def build(recipe):
    parse_gin([recipe])
    model = get_model()
    return model, gin.get_configurable(AudioConfig)()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", default="50,100,200,400")
    parser.add_argument("--naive_up_to", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    print(f"load average before: {os.getloadavg()}")
    text2mel, config = build("recipes/dctts/text2mel_demo.gin")
    ssrn, _ = build("recipes/dctts/ssrn_demo.gin")
    text = tf.fill([1, 120], 5)
    text = tf.concat([text, tf.ones([1, 1], tf.int32)], axis=1)
    text2mel.build()

    cached = tf.function(
        lambda steps: synthesize_autoregressively(text2mel, text, steps, "paper", stop=False)
    )

    @tf.function
    def naive(steps):
        frames = tf.zeros([1, 1, text2mel.n_mels])
        for _ in tf.range(steps - 1):
            tf.autograph.experimental.set_loop_options(
                shape_invariants=[(frames, tf.TensorShape([1, None, text2mel.n_mels]))]
            )
            logits, _ = text2mel((text, frames))
            frames = tf.concat([frames, tf.sigmoid(logits[:, -1:])], axis=1)
        return frames

    print("| decoder frames | audio (s) | cached steps (s) | ms / frame | re-run prefix (s) |")
    print("|---|---|---|---|---|")
    for length in lengths:
        steps = tf.constant(length)
        seconds = best_time(lambda steps=steps: cached(steps), args.repeats)
        audio = length * text2mel.reduction_factor * config.hop_length / config.sample_rate
        naive_seconds = (
            f"{best_time(lambda steps=steps: naive(steps), 1):.2f}"
            if length <= args.naive_up_to
            else "-"
        )
        print(
            f"| {length} | {audio:.1f} | {seconds:.2f} | {1000 * seconds / length:.1f} | "
            f"{naive_seconds} |",
            flush=True,
        )

    steps = tf.constant(lengths[-1])
    vocode = tf.function(lambda mel: ssrn.vocode(mel)["linear"])

    def text2mel_ssrn():
        mel = cached(steps)["reduced_mel"]
        return vocode(tf.repeat(mel, text2mel.reduction_factor, axis=1))

    gl = tf.function(lambda linear: griffin_lim(linear, config))

    def full():
        return gl(text2mel_ssrn())

    audio = lengths[-1] * text2mel.reduction_factor * config.hop_length / config.sample_rate
    rtf = best_time(text2mel_ssrn, args.repeats) / audio
    rtf_gl = best_time(full, args.repeats) / audio
    print(f"\nreal-time factor, Text2Mel + SSRN: {rtf:.3f}; with Griffin-Lim: {rtf_gl:.3f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
