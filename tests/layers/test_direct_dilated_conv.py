"""DirectDilatedConv1D: a numpy dilated convolution, Keras' Conv1D on the same weights, the graph
it runs outside training, save/load, an XLA training step and bf16."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import check_keras_round_trip, dtype_policy, with_random_weights

from ttszoo.errors import InvalidInputError
from ttszoo.layers.direct_dilated_conv import DirectDilatedConv1D


def numpy_dilated_conv(x, kernel, bias, dilation, padding):
    """Stride-1 dilated 1-D cross-correlation, tap by tap; "same" pads ``d (k - 1)`` frames,
    the smaller half on the left."""
    width = kernel.shape[0]
    total = dilation * (width - 1) if padding == "same" else 0
    x = np.pad(x, [(0, 0), (total // 2, total - total // 2), (0, 0)])
    steps = x.shape[1] - dilation * (width - 1)
    y = np.zeros((x.shape[0], steps, kernel.shape[2])) + bias
    for tap in range(width):
        y += x[:, tap * dilation : tap * dilation + steps] @ kernel[tap]
    return y


def make_layer(seed=0, **kwargs):
    return with_random_weights(
        DirectDilatedConv1D(
            **{**dict(filters=6, kernel_size=5, dilation_rate=3, padding="same"), **kwargs}
        ),
        4,
        seed,
    )


def inputs(seed=1, steps=23):
    return np.random.default_rng(seed).normal(size=(2, steps, 4)).astype(np.float32)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("dilation", [1, 3])
def test_matches_numpy_and_keras_conv1d_in_and_out_of_training(padding, dilation):
    layer = make_layer(dilation_rate=dilation, padding=padding)
    reference = keras.layers.Conv1D(6, 5, dilation_rate=dilation, padding=padding)
    reference.build((None, None, 4))
    reference.set_weights(layer.get_weights())
    x = inputs()
    expected = numpy_dilated_conv(x, *layer.get_weights(), dilation, padding)
    for training in (False, True):
        np.testing.assert_allclose(layer(x, training=training).numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(layer(x).numpy(), reference(x).numpy(), atol=1e-5)


def test_skips_space_to_batch_outside_training_only():
    layer = make_layer()
    x = tf.constant(inputs())

    def op_types(training):
        graph = tf.function(lambda v: layer(v, training=training)).get_concrete_function(x).graph
        return {op.type for op in graph.get_operations()}

    assert "SpaceToBatchND" not in op_types(False)
    assert "SpaceToBatchND" in op_types(True)


def test_keras_save_and_load_round_trip(tmp_path):
    check_keras_round_trip(make_layer(), (None, 4), inputs(), tmp_path)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_xla_training_step_and_inference_under_the_policy(policy):
    with dtype_policy(policy):
        layer = make_layer(kernel_size=3, dilation_rate=2)
        x = tf.constant(inputs(steps=8))

        @tf.function(jit_compile=True)
        def loss_and_gradient():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.cast(layer(x, training=True), tf.float32) ** 2)
            return loss, tape.gradient(loss, layer.kernel)

        loss, gradient = loss_and_gradient()
        kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
        y = numpy_dilated_conv(x.numpy().astype(np.float64), kernel, bias, 2, "same")
        # d/dK[tap] sum(y^2) = sum over outputs of 2 y * (the input that tap reads).
        padded = np.pad(x.numpy().astype(np.float64), [(0, 0), (2, 2), (0, 0)])
        expected = np.stack(
            [np.einsum("bti,bto->io", padded[:, 2 * tap : 2 * tap + 8], 2 * y) for tap in range(3)]
        )
        tolerance = 0.05 if policy == "mixed_bfloat16" else 1e-3
        np.testing.assert_allclose(gradient.numpy(), expected, rtol=tolerance, atol=tolerance * 10)
        assert np.isclose(float(loss), (y**2).sum(), rtol=tolerance)
        direct = layer(x)
        assert direct.dtype == (tf.bfloat16 if policy == "mixed_bfloat16" else tf.float32)
        np.testing.assert_allclose(
            tf.cast(direct, tf.float32).numpy(), y, rtol=tolerance, atol=tolerance * 10
        )


@pytest.mark.parametrize(
    "kwargs",
    [dict(padding="causal"), dict(groups=2, filters=4), dict(data_format="channels_first")],
)
def test_other_convolutions_are_a_clear_error(kwargs):
    settings = dict(filters=6, kernel_size=3, dilation_rate=2, padding="same")
    settings.update(kwargs)
    with pytest.raises(InvalidInputError, match="use keras.layers.Conv1D"):
        DirectDilatedConv1D(**settings)
