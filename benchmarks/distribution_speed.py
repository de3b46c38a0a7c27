"""Throughput of the discretized mixture of logistics: log_prob and sample, values per second.

Runs XLA-compiled (tf.function(jit_compile=True)) on the current device, for 8-bit and 16-bit
quantisation, M = 10 components, and prints a markdown table.

    python benchmarks/distribution_speed.py [--values 65536] [--repeats 20]
"""

import argparse

import tensorflow as tf
from timing import best_seconds

import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo import distributions


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=65536, help="audio samples per call")
    parser.add_argument("--components", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    raw = tf.random.stateless_normal([args.values, 3 * args.components], seed=[0, 1])
    targets = tf.random.stateless_uniform([args.values], seed=[2, 3], minval=-1.0, maxval=1.0)

    print("| distribution | num_classes | log_prob (values/s) | sample (values/s) |")
    print("|---|---|---|---|")
    for family, cls in (
        ("MoL", distributions.DiscretizedMixtureOfLogistics),
        ("Gaussian mixture", distributions.DiscretizedGaussian),
    ):
        for num_classes in (2**8, 2**16):

            @tf.function(jit_compile=True)
            def log_prob(cls=cls, num_classes=num_classes):
                return cls.from_network_output(raw, num_classes=num_classes).log_prob(targets)

            @tf.function(jit_compile=True)
            def sample(cls=cls, num_classes=num_classes):
                dist = cls.from_network_output(raw, num_classes=num_classes)
                return dist.sample(seed=tf.constant([4, 5]))

            lp = args.values / best_seconds(log_prob, args.repeats)
            sm = args.values / best_seconds(sample, args.repeats)
            print(
                f"| {family} (M={args.components}) | 2**{num_classes.bit_length() - 1} "
                f"| {lp:,.0f} | {sm:,.0f} |"
            )


if __name__ == "__main__":
    main()
