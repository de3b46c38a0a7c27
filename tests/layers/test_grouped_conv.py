"""GroupedConv1D: a numpy grouped convolution, Keras' own grouped layer, save/load, XLA, bf16."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import check_keras_round_trip, dtype_policy, with_random_weights

from ttszoo.errors import InvalidInputError
from ttszoo.layers.grouped_conv import GroupedConv1D


def numpy_grouped_conv(x, kernel, bias, stride, groups):
    """'valid' grouped 1-D cross-correlation, written loop by loop."""
    batch, steps, channels_in = x.shape
    width, group_in, channels_out = kernel.shape
    group_out = channels_out // groups
    out_steps = (steps - width) // stride + 1
    y = np.zeros((batch, out_steps, channels_out))
    for o in range(channels_out):
        g = o // group_out
        for t in range(out_steps):
            window = x[:, t * stride : t * stride + width, g * group_in : (g + 1) * group_in]
            y[:, t, o] = np.einsum("bki,ki->b", window, kernel[:, :, o]) + bias[o]
    return y


def make_layer(seed=0, **kwargs):
    return with_random_weights(
        GroupedConv1D(**{**dict(filters=8, kernel_size=5, strides=2, groups=4), **kwargs}), 12, seed
    )


def test_matches_a_numpy_grouped_convolution():
    layer = make_layer()
    x = np.random.default_rng(1).normal(size=(2, 17, 12)).astype(np.float32)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (5, 3, 8)
    expected = numpy_grouped_conv(x, kernel, bias, stride=2, groups=4)
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-4)


def test_same_weights_and_output_as_keras_grouped_conv1d():
    layer = make_layer()
    reference = keras.layers.Conv1D(filters=8, kernel_size=5, strides=2, groups=4)
    reference.build((None, None, 12))
    reference.set_weights(layer.get_weights())
    x = np.random.default_rng(2).normal(size=(3, 20, 12)).astype(np.float32)
    np.testing.assert_allclose(layer(x).numpy(), reference(x).numpy(), atol=1e-4)


def test_keras_save_and_load_round_trip(tmp_path):
    x = np.random.default_rng(3).normal(size=(1, 9, 12)).astype(np.float32)
    check_keras_round_trip(make_layer(), (None, 12), x, tmp_path)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_xla_training_step_gradients_match_numpy_finite_differences(policy):
    with dtype_policy(policy):
        layer = make_layer(kernel_size=3, strides=1)
        x = tf.constant(np.random.default_rng(4).normal(size=(2, 6, 12)).astype(np.float32))

        @tf.function(jit_compile=True)
        def loss_and_gradient():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.cast(layer(x), tf.float32) ** 2)
            return loss, tape.gradient(loss, layer.kernel)

        loss, gradient = loss_and_gradient()
        assert layer(x).dtype == (tf.bfloat16 if policy == "mixed_bfloat16" else tf.float32)
        # d/dK sum(y^2) = sum over outputs of 2 y * window: from the numpy convolution.
        kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
        y = numpy_grouped_conv(x.numpy().astype(np.float64), kernel, bias, 1, 4)
        expected = np.zeros_like(kernel)
        for o in range(8):
            g = o // 2
            for t in range(y.shape[1]):
                window = x.numpy()[:, t : t + 3, g * 3 : (g + 1) * 3]
                expected[:, :, o] += np.einsum("b,bki->ki", 2 * y[:, t, o], window)
        tolerance = 0.05 if policy == "mixed_bfloat16" else 1e-3
        np.testing.assert_allclose(gradient.numpy(), expected, rtol=tolerance, atol=tolerance * 10)
        assert np.isclose(float(loss), (y**2).sum(), rtol=tolerance)


def test_causal_padding_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="pad the inputs"):
        GroupedConv1D(4, 3, groups=2, padding="causal")
