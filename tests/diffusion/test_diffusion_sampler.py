"""Tests for DiffusionSampler: compact == posterior, the loop against numpy, seeds, clipping."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo import diffusion


def numpy_compact_step(y, eps, z, betas, n):
    alpha = 1.0 - betas
    alpha_bar = np.cumprod(alpha)
    alpha_bar_prev = np.concatenate([[1.0], alpha_bar[:-1]])
    sigma = np.sqrt((1.0 - alpha_bar_prev[n]) / (1.0 - alpha_bar[n]) * betas[n])
    mean = (y - betas[n] / np.sqrt(1.0 - alpha_bar[n]) * eps) / np.sqrt(alpha[n])
    return mean + sigma * z


def numpy_posterior_step(y, eps, z, betas, n):
    alpha = 1.0 - betas
    alpha_bar = np.cumprod(alpha)
    alpha_bar_prev = np.concatenate([[1.0], alpha_bar[:-1]])
    x0 = np.sqrt(1.0 / alpha_bar[n]) * y - np.sqrt(1.0 / alpha_bar[n] - 1.0) * eps
    c1 = betas[n] * np.sqrt(alpha_bar_prev[n]) / (1.0 - alpha_bar[n])
    c2 = (1.0 - alpha_bar_prev[n]) * np.sqrt(alpha[n]) / (1.0 - alpha_bar[n])
    variance = max((1.0 - alpha_bar_prev[n]) / (1.0 - alpha_bar[n]) * betas[n], 1e-20)
    return c1 * x0 + c2 * y + (np.sqrt(variance) if n > 0 else 0.0) * z


def tanh_denoiser(y, conditioning, level):
    return 0.5 * tf.tanh(2.0 * y + level[:, tf.newaxis]) + conditioning


SCHEDULES = ["wavegrad-6", "diffwave-6", "wavegrad-train"]


@pytest.mark.parametrize("name", SCHEDULES)
def test_compact_equals_posterior_step(name):
    schedule = diffusion.NoiseSchedule.named(name)
    rng = np.random.default_rng(0)
    compact = diffusion.DiffusionSampler(tanh_denoiser, schedule, form="compact", clip=None)
    posterior = diffusion.DiffusionSampler(tanh_denoiser, schedule, form="posterior", clip=None)
    table = compact.coefficients(schedule)
    for n in sorted({0, 1, schedule.num_steps // 2, schedule.num_steps - 1}):
        y, eps, z = rng.normal(size=(3, 2, 64))
        expected = numpy_compact_step(y, eps, z, schedule.betas, n)
        # The two textbook forms agree in float64 (docs/references.md, Diffusion sampler).
        np.testing.assert_allclose(
            numpy_posterior_step(y, eps, z, schedule.betas, n), expected, atol=1e-9
        )
        for sampler in (compact, posterior):
            got = sampler.reverse_step(
                tf.constant(y, tf.float32),
                tf.constant(eps, tf.float32),
                tf.constant(z if n > 0 else 0 * z, tf.float32),
                table[:, n],
            )
            np.testing.assert_allclose(
                got.numpy(), expected, atol=1e-5 * max(1.0, np.abs(expected).max())
            )


@pytest.mark.parametrize("name", SCHEDULES[:2])
def test_whole_processes_agree_without_clipping(name):
    schedule = diffusion.NoiseSchedule.named(name)
    conditioning = tf.constant([[0.1], [-0.2]])
    outputs = [
        diffusion.DiffusionSampler(tanh_denoiser, schedule, form=form, clip=None).sample(
            conditioning, 256, seed=11
        )
        for form in ("compact", "posterior")
    ]
    scale = float(tf.reduce_max(tf.abs(outputs[0])))
    np.testing.assert_allclose(outputs[0].numpy(), outputs[1].numpy(), atol=1e-5 * scale)


@pytest.mark.parametrize("noise_input", ["noise_level", "fractional_step"])
def test_loop_runs_every_step_in_order_with_the_right_network_input(noise_input):
    """With eps = y * input_n the map is linear in y_N; the same seed cancels the noise."""
    schedule = diffusion.NoiseSchedule.named("diffwave-6")
    training = diffusion.NoiseSchedule.named("diffwave-train")
    sampler = diffusion.DiffusionSampler(
        lambda y, c, level: y * level[:, tf.newaxis] / 50.0,
        schedule, clip=None, noise_input=noise_input, training_schedule=training,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    start_a, start_b = rng.normal(size=(2, 3, 32)).astype(np.float32)
    difference = sampler.sample_from(start_a, None, seed=4) - sampler.sample_from(
        start_b, None, seed=4
    )
    betas = schedule.betas
    alpha_bar = np.cumprod(1.0 - betas)
    if noise_input == "noise_level":
        inputs = np.sqrt(alpha_bar)
    else:
        inputs = np.array([0.0, 0.8941341, 4.08665402, 10.45181652, 22.99249331, 42.91864306])
    gain = np.prod((1.0 - betas / np.sqrt(1.0 - alpha_bar) * inputs / 50.0) / np.sqrt(1.0 - betas))
    np.testing.assert_allclose(difference.numpy(), gain * (start_a - start_b), rtol=1e-4, atol=1e-5)


def test_seeds_and_clipping():
    schedule = diffusion.NoiseSchedule.inference(6)
    sampler = diffusion.DiffusionSampler(tanh_denoiser, schedule, clip="output")
    conditioning = tf.zeros([2, 1])
    first = sampler.sample(conditioning, 128, seed=1)
    assert first.shape == (2, 128) and first.dtype == tf.float32
    assert float(tf.reduce_max(tf.abs(first))) <= 1.0
    np.testing.assert_array_equal(first.numpy(), sampler.sample(conditioning, 128, seed=1).numpy())
    assert not np.allclose(first.numpy(), sampler.sample(conditioning, 128, seed=2).numpy())
    unclipped = diffusion.DiffusionSampler(tanh_denoiser, schedule, form="posterior", clip=None)
    x0_clipped = diffusion.DiffusionSampler(tanh_denoiser, schedule, form="posterior", clip="x0")
    a = unclipped.sample(conditioning, 128, seed=1)
    b = x0_clipped.sample(conditioning, 128, seed=1)
    assert float(tf.reduce_max(tf.abs(a))) > 1.0
    assert not np.allclose(a.numpy(), b.numpy())


def test_schedules_of_one_length_share_the_compiled_loop():
    sampler = diffusion.DiffusionSampler(tanh_denoiser, diffusion.NoiseSchedule.inference(6))
    conditioning = tf.zeros([1, 1])
    a = sampler.sample(conditioning, 64, seed=0)
    b = sampler.sample(
        conditioning, 64, seed=0, schedule=diffusion.NoiseSchedule.named("diffwave-6")
    )
    assert sampler._loop.experimental_get_tracing_count() == 1
    assert not np.allclose(a.numpy(), b.numpy())


class TinyDenoiser(keras.Model):
    """A Keras model with the sampler's calling convention (y, conditioning, noise_level)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mix = keras.layers.Dense(8)
        self.out = keras.layers.Dense(8)

    def call(self, noisy_audio, conditioning, noise_level):
        hidden = self.mix(noisy_audio) + conditioning + noise_level[:, None]
        return self.out(keras.ops.tanh(hidden))


def test_keras_model_plugs_in_and_config_round_trips():
    model = TinyDenoiser()
    schedule = diffusion.NoiseSchedule.inference(7)
    sampler = diffusion.DiffusionSampler(model, schedule, form="posterior", clip="x0")
    audio = sampler.sample(tf.zeros([2, 8]), 8, seed=3)
    assert audio.shape == (2, 8) and np.all(np.isfinite(audio.numpy()))
    config = json.loads(json.dumps(sampler.get_config()))
    restored = diffusion.DiffusionSampler.from_config(config, model)
    np.testing.assert_array_equal(
        restored.sample(tf.zeros([2, 8]), 8, seed=3).numpy(), audio.numpy()
    )
    training = diffusion.NoiseSchedule.named("diffwave-train")
    fractional = diffusion.DiffusionSampler(
        model, diffusion.NoiseSchedule.named("diffwave-6"),
        noise_input="fractional_step", training_schedule=training,
    )  # fmt: skip
    again = diffusion.DiffusionSampler.from_config(fractional.get_config(), model)
    np.testing.assert_array_equal(again.training_schedule.betas, training.betas)


def test_bad_settings_raise():
    schedule = diffusion.NoiseSchedule.inference(6)
    with pytest.raises(ValueError, match="form must be"):
        diffusion.DiffusionSampler(tanh_denoiser, schedule, form="ddim")
    with pytest.raises(ValueError, match="clip='x0'"):
        diffusion.DiffusionSampler(tanh_denoiser, schedule, form="compact", clip="x0")
    with pytest.raises(ValueError, match="needs the training_schedule"):
        diffusion.DiffusionSampler(tanh_denoiser, schedule, noise_input="fractional_step")
    with pytest.raises(ValueError, match="outside the training schedule's range"):
        diffusion.DiffusionSampler(
            tanh_denoiser, schedule, noise_input="fractional_step",
            training_schedule=diffusion.NoiseSchedule.named("diffwave-train"),
        )  # fmt: skip
    with pytest.raises(TypeError, match="callable"):
        diffusion.DiffusionSampler("model", schedule)
    with pytest.raises(ValueError, match="batch_size"):
        diffusion.DiffusionSampler(tanh_denoiser, schedule).sample(None, 16)


def test_mixed_bfloat16_network_keeps_the_sampler_in_float32():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = TinyDenoiser()
        sampler = diffusion.DiffusionSampler(model, diffusion.NoiseSchedule.inference(6))
        audio = sampler.sample(tf.zeros([2, 8]), 8, seed=1)
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.out.compute_dtype == "bfloat16"
    assert audio.dtype == tf.float32 and np.all(np.isfinite(audio.numpy()))


def test_sampler_noise_is_standard_normal_and_the_same_with_xla():
    from scipy import stats

    from ttszoo.diffusion.sampler import stateless_normal

    seed = tf.constant([7, 1])
    eager = stateless_normal([4, 50000], seed).numpy()
    compiled = tf.function(lambda: stateless_normal([4, 50000], seed), jit_compile=True)()
    np.testing.assert_allclose(eager, compiled.numpy(), atol=1e-5)
    assert stats.kstest(eager.ravel(), "norm").pvalue > 1e-3
    assert abs(eager.mean()) < 0.01 and abs(eager.std() - 1.0) < 0.01
    other = stateless_normal([4, 50000], tf.constant([7, 2])).numpy()
    assert abs(np.corrcoef(eager.ravel(), other.ravel())[0, 1]) < 0.01
    # A control the test must reject: uniform noise of the same variance is not normal.
    uniform = np.random.default_rng(0).uniform(-np.sqrt(3), np.sqrt(3), eager.size)
    assert stats.kstest(uniform, "norm").pvalue < 1e-3
