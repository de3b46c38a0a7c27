"""DCTTS inference speed on the CPU: time against length, cached steps against re-running.

Builds the demo-size Text2Mel and SSRN (recipes/dctts/*_demo.gin, 16 kHz demo features) with
random weights (speed does not depend on the weights) and a 121-symbol text, and measures:

* the cached frame-by-frame decoder (``synthesize_autoregressively``, stop rule off so that
  exactly L frames are made) for several lengths L: the time per frame should stay flat, i.e.
  the total grows linearly;
* the naive decoder that re-runs the parallel Text2Mel over the whole prefix for every new
  frame (what Kyubyong/dc_tts' synthesize.py does), for the shorter lengths: quadratic. The
  two take turns in an order that reverses every round, so their ratio is measured under the
  same load;
* the real-time factor (compute seconds / audio seconds) of Text2Mel + SSRN, of Griffin-Lim
  alone (``AudioConfig.griffin_lim_iters`` iterations on SSRN's linear spectrogram) and of the
  three together, for the longest length.

Times are the least of ``--repeats`` rounds after a warm-up (tracing) call; the 1-minute load
average is printed before and after, since the machine is shared.

    python benchmarks/dctts_inference.py
"""

import argparse
import os

import tensorflow as tf
from timing import best_seconds, time_runs

import gin
from ttszoo.audio import AudioConfig, griffin_lim
from ttszoo.models import get_model
from ttszoo.models.dctts.inference import synthesize_autoregressively
from ttszoo.training import parse_gin


def build(recipe):
    parse_gin([recipe])
    model = get_model()
    return model, gin.get_configurable(AudioConfig)()


def audio_seconds(text2mel, config, decoder_frames):
    return decoder_frames * text2mel.reduction_factor * config.hop_length / config.sample_rate


def length_table(text2mel, config, cached, naive, lengths, naive_up_to, repeats):
    """Prints the cached decoder's time for each length and, up to ``naive_up_to`` frames, the
    re-run decoder's, the two alternating (``time_runs``); least of ``repeats`` rounds."""
    print(
        "| decoder frames | audio (s) | cached steps (s) | ms / frame | re-run prefix (s) | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for length in lengths:
        steps = tf.constant(length)
        runs = {"cached": lambda steps=steps: cached(steps)}
        if length <= naive_up_to:
            runs["re-run"] = lambda steps=steps: naive(steps)
        best = {name: min(times) for name, times in time_runs(runs, repeats).items()}
        seconds = best["cached"]
        rerun = (
            f"{best['re-run']:.2f} | {best['re-run'] / seconds:.1f}x"
            if "re-run" in best
            else "- | -"
        )
        print(
            f"| {length} | {audio_seconds(text2mel, config, length):.1f} | {seconds:.3f} | "
            f"{1000 * seconds / length:.2f} | {rerun} |",
            flush=True,
        )


def real_time_factors(text2mel, ssrn, config, cached, length, repeats):
    """Prints compute seconds per audio second of Text2Mel + SSRN, Griffin-Lim alone and all
    three, for ``length`` decoder frames (least of ``repeats`` runs each)."""
    steps = tf.constant(length)
    vocode = tf.function(lambda mel: ssrn.vocode(mel)["linear"])

    def text2mel_ssrn():
        mel = cached(steps)["reduced_mel"]
        return vocode(tf.repeat(mel, text2mel.reduction_factor, axis=1))

    gl = tf.function(lambda linear: griffin_lim(linear, config))
    linear = text2mel_ssrn()
    audio = audio_seconds(text2mel, config, length)
    rtf = best_seconds(text2mel_ssrn, repeats) / audio
    rtf_gl = best_seconds(lambda: gl(linear), repeats) / audio
    rtf_all = best_seconds(lambda: gl(text2mel_ssrn()), repeats) / audio
    print(
        f"\nreal-time factor ({audio:.1f} s of audio), Text2Mel + SSRN: {rtf:.3f}; Griffin-Lim "
        f"({config.griffin_lim_iters} iterations, n_fft {config.n_fft}): {rtf_gl:.3f}; "
        f"all three: {rtf_all:.3f}"
    )


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

    length_table(text2mel, config, cached, naive, lengths, args.naive_up_to, args.repeats)
    real_time_factors(text2mel, ssrn, config, cached, lengths[-1], args.repeats)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
