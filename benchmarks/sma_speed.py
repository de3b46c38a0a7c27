"""Speed of the monotonic attention recursions against sequence length.

Times, with XLA (``tf.function(jit_compile=True)``):
  * the stepwise monotonic expectation over a whole teacher-forced sequence of T output steps and
    N = T / 4 memory entries, log space against probability space, forward and forward+backward;
  * one Raffel et al. 2017 monotonic attention step over N memory entries, the exact recursive
    form (a tf.scan over N) against the closed parallel form.

Prints markdown tables (best of ``--repeats`` runs after one warm-up / compile run).

    python benchmarks/sma_speed.py --batch 4 --repeats 5
"""

import argparse
import platform

import numpy as np
import tensorflow as tf
from timing import best_seconds

import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo.layers import monotonic


def stepwise_timings(batch, steps, repeats):
    keys = max(steps // 4, 2)
    logits = tf.Variable(tf.random.normal([batch, steps, keys], stddev=3.0, seed=1))
    weights = tf.range(keys, dtype=tf.float32)
    row = {}
    for space in monotonic.SPACES:

        @tf.function(jit_compile=True)
        def forward(space=space):
            return monotonic.stepwise_monotonic_alignment(logits, space=space)

        @tf.function(jit_compile=True)
        def forward_backward(space=space):
            with tf.GradientTape() as tape:
                alignment = monotonic.stepwise_monotonic_alignment(logits, space=space)
                loss = tf.reduce_sum(alignment * weights)
            return tape.gradient(loss, logits)

        row[f"{space} forward"] = best_seconds(forward, repeats)
        row[f"{space} fwd+bwd"] = best_seconds(forward_backward, repeats)
    return keys, row


def raffel_timings(batch, keys, repeats):
    rng = np.random.default_rng(0)
    p_choose = tf.constant(rng.uniform(0.05, 0.95, (batch, keys)).astype(np.float32))
    previous = tf.constant(rng.dirichlet(np.ones(keys), size=batch).astype(np.float32))
    row = {}
    for mode in ("recursive", "parallel"):

        @tf.function(jit_compile=True)
        def attend(mode=mode):
            return monotonic.raffel_monotonic_attention(p_choose, previous, mode)

        row[mode] = best_seconds(attend, repeats)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 250, 500, 1000, 2000])
    parser.add_argument("--keys", type=int, nargs="+", default=[50, 200, 1000, 5000])
    args = parser.parse_args()

    print(
        f"TensorFlow {tf.__version__}, {platform.processor() or platform.machine()}, "
        f"batch {args.batch}, best of {args.repeats} runs, XLA-compiled, milliseconds.\n"
    )
    print("Stepwise monotonic expectation over a whole sequence (T steps, N = T/4 keys):\n")
    print("| T | N | log fwd | prob fwd | log fwd+bwd | prob fwd+bwd | log / prob (fwd+bwd) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for steps in args.steps:
        keys, row = stepwise_timings(args.batch, steps, args.repeats)
        ms = {name: 1000 * seconds for name, seconds in row.items()}
        print(
            f"| {steps} | {keys} | {ms['log forward']:.2f} | {ms['probability forward']:.2f} | "
            f"{ms['log fwd+bwd']:.2f} | {ms['probability fwd+bwd']:.2f} | "
            f"{row['log fwd+bwd'] / row['probability fwd+bwd']:.2f} |"
        )
    print("\nOne Raffel monotonic attention step (N keys):\n")
    print("| N | recursive | parallel | recursive / parallel |")
    print("|---:|---:|---:|---:|")
    for keys in args.keys:
        row = raffel_timings(args.batch, keys, args.repeats)
        print(
            f"| {keys} | {1000 * row['recursive']:.3f} | {1000 * row['parallel']:.3f} | "
            f"{row['recursive'] / row['parallel']:.1f} |"
        )


if __name__ == "__main__":
    main()
