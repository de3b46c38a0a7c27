"""WaveGrad layers against numpy implementations written here, plus serialisation, XLA and bf16."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers import DBlock, FiLM, NoiseLevelEncoding, UBlock


def np_conv(x, conv, dilation=1):
    """'same' 1-D convolution of ``x`` [B, L, C] with a Keras Conv1D's weights, in float64."""
    kernel, bias = (np.asarray(w, np.float64) for w in conv.get_weights())
    size = kernel.shape[0]
    pad = dilation * (size - 1) // 2
    padded = np.pad(x, [(0, 0), (pad, pad), (0, 0)])
    length = x.shape[1]
    out = sum(padded[:, k * dilation : k * dilation + length] @ kernel[k] for k in range(size))
    return out + bias


def np_leaky(x):
    return np.where(x > 0, x, 0.2 * x)


def np_encoding(level, channels, scale):
    half = channels // 2
    angles = scale * level[:, None] * np.exp(-math.log(1e4) * np.arange(half) / half)[None]
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)


@pytest.mark.parametrize("scale", [5000.0, 1.0])
def test_noise_level_encoding_matches_the_paper_and_lmnt(scale):
    level = np.array([0.0, 0.0813796, 0.5, 0.9999995])
    encoding = NoiseLevelEncoding(16, scale=scale)(tf.constant(level, tf.float32))
    np.testing.assert_allclose(encoding, np_encoding(level, 16, scale), atol=2e-3)
    # Level 0 encodes to [0]*8 + [1]*8 at any scale.
    np.testing.assert_allclose(encoding[0], [0.0] * 8 + [1.0] * 8, atol=1e-7)
    with pytest.raises(ValueError, match="even"):
        NoiseLevelEncoding(7)


def test_film_matches_numpy():
    rng = np.random.default_rng(0)
    x, level = rng.normal(size=(2, 9, 6)), np.array([0.3, 0.8])
    film = FiLM(5, noise_scale=5000.0)
    shift, scale = film(tf.constant(x, tf.float32), tf.constant(level, tf.float32))
    hidden = np_leaky(np_conv(x, film.input_conv)) + np_encoding(level, 6, 5000.0)[:, None]
    out = np_conv(hidden, film.output_conv)
    np.testing.assert_allclose(shift, out[..., :5], atol=2e-3)
    np.testing.assert_allclose(scale, out[..., 5:], atol=2e-3)


def test_dblock_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 12, 4))
    block = DBlock(6, factor=3)
    out = block(tf.constant(x, tf.float32))
    assert out.shape == (2, 4, 6) == block.compute_output_shape((2, 12, 4))
    residual = np_conv(x, block.residual_conv)[:, ::3]
    h = x[:, ::3]
    for conv, dilation in zip(block.convs, (1, 2, 4), strict=True):
        h = np_conv(np_leaky(h), conv, dilation)
    np.testing.assert_allclose(out, h + residual, atol=1e-4)


def test_ublock_matches_numpy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 4))
    shift, scale = rng.normal(size=(2, 10, 6)), rng.normal(size=(2, 10, 6))
    block = UBlock(6, factor=2, dilations=(1, 2, 4, 8))
    out = block(*(tf.constant(a, tf.float32) for a in (x, shift, scale)))
    assert out.shape == (2, 10, 6) == block.compute_output_shape((2, 5, 4))
    up = np.repeat(x, 2, axis=1)
    film = lambda h: shift + scale * h  # noqa: E731
    c = block.convs
    h = film(np_conv(np.repeat(np_leaky(x), 2, axis=1), c[0], 1))
    y = np_conv(up, block.residual_conv) + np_conv(np_leaky(h), c[1], 2)
    h = film(np_conv(np_leaky(film(y)), c[2], 4))
    np.testing.assert_allclose(out, y + np_conv(np_leaky(h), c[3], 8), atol=1e-3)
    with pytest.raises(ValueError, match="four dilated"):
        UBlock(6, 2, dilations=(1, 2))


def _wavegrad_cell():
    """A functional model using every layer: audio [B, 8, 1], level [B], mel [B, 4, 3]."""
    audio = keras.Input((8, 1), batch_size=2)
    level = keras.Input((), batch_size=2)
    mel = keras.Input((4, 3), batch_size=2)
    down = DBlock(4, 2)(audio)
    shift, scale = FiLM(5)(down, level)
    up = UBlock(5, 1, dilations=(1, 2, 1, 2))(mel, shift, scale)
    return keras.Model([audio, level, mel], up)


def _inputs():
    rng = np.random.default_rng(3)
    return [
        tf.constant(rng.normal(size=(2, 8, 1)), tf.float32),
        tf.constant([0.2, 0.7]),
        tf.constant(rng.normal(size=(2, 4, 3)), tf.float32),
    ]


def test_layers_round_trip_through_config_and_keras_file(tmp_path):
    for layer in (NoiseLevelEncoding(8, scale=1.0), FiLM(3, noise_scale=1.0), DBlock(4, 5)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    model = _wavegrad_cell()
    expected = model(_inputs())
    path = tmp_path / "cell.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(_inputs()), expected, atol=1e-6)


def test_layers_train_in_an_xla_step_under_mixed_bfloat16():
    # float32 XLA: tests/models/test_wavegrad.py::test_training_step_compiles_with_xla.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = _wavegrad_cell()
        inputs = _inputs()
        optimizer = keras.optimizers.Adam(1e-2)
        optimizer.build(model.trainable_variables)

        @tf.function(jit_compile=True)
        def step():
            with tf.GradientTape() as tape:
                out = model(inputs, training=True)
                loss = tf.reduce_mean(tf.square(tf.cast(out, tf.float32) - 0.5))
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(gradients, model.trainable_variables)
            return loss

        losses = [float(step()) for _ in range(20)]
        assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
        assert model(inputs).dtype == tf.bfloat16
        assert all(v.dtype == tf.float32 for v in model.trainable_variables)
    finally:
        keras.config.set_dtype_policy(previous)
