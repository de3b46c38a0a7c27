"""Time the diffusion sampler spends beyond the network, per reverse step.

Three measurements per (batch, samples, steps) setting, each XLA-compiled, best of N runs:
  * sampler with a trivial denoise_fn (returns zeros): the sampler's own cost;
  * the network alone, one forward pass;
  * sampler with the network.
Overhead per step = (sampler with network) / steps - network forward. Prints a markdown table.

    python benchmarks/sampler_overhead.py [--repeats 5]
"""

import argparse

import keras
import tensorflow as tf
from timing import best_seconds

import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo import diffusion


class ConvDenoiser(keras.Model):
    """A small WaveGrad-sized stand-in: four dilated Conv1D layers over the waveform."""

    def __init__(self, channels=32, **kwargs):
        super().__init__(**kwargs)
        self.convs = [
            keras.layers.Conv1D(channels, 3, dilation_rate=2**i, padding="same", activation="tanh")
            for i in range(4)
        ]
        self.out = keras.layers.Conv1D(1, 1)

    def call(self, noisy_audio, conditioning, noise_level):
        x = noisy_audio[..., None] + noise_level[:, None, None]
        for conv in self.convs:
            x = conv(x)
        return self.out(x)[..., 0]


def sampler_ms_per_step(sampler, batch, samples, repeats):
    def run():
        return sampler.sample(None, samples, batch_size=batch)

    return 1e3 * best_seconds(run, repeats) / sampler.schedule.num_steps


def network_ms(network, batch, samples, repeats):
    audio = tf.random.stateless_normal([batch, samples], seed=[0, 1])
    level = tf.fill([batch], 0.5)
    forward = tf.function(lambda: network(audio, None, level), jit_compile=True)
    return 1e3 * best_seconds(forward, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    network = ConvDenoiser()
    print(
        "| batch x samples | steps | sampler, trivial fn (ms/step) | network forward (ms) "
        "| sampler + network (ms/step) | overhead (ms/step) |"
    )
    print("|---|---|---|---|---|---|")
    for batch, samples in ((1, 22050), (4, 22050)):
        forward_ms = network_ms(network, batch, samples, args.repeats)
        for name in ("wavegrad-6", "wavegrad-50"):
            schedule = diffusion.NoiseSchedule.named(name)
            trivial = diffusion.DiffusionSampler(lambda y, c, n: tf.zeros_like(y), schedule)
            trivial_ms = sampler_ms_per_step(trivial, batch, samples, args.repeats)
            full = diffusion.DiffusionSampler(network, schedule)
            full_ms = sampler_ms_per_step(full, batch, samples, args.repeats)
            print(
                f"| {batch} x {samples} | {schedule.num_steps} | {trivial_ms:.2f} "
                f"| {forward_ms:.2f} | {full_ms:.2f} | {full_ms - forward_ms:.2f} |"
            )


if __name__ == "__main__":
    main()
