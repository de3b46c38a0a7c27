"""DCTTS convolutions (docs/references.md, DCTTS): numpy references, causality, highway limits."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo import layers


def numpy_conv(x, kernel, bias, dilation, left, right):
    """Independent reference: zero-pad, then y[t] = sum_j x[t + j*dilation] @ kernel[j] + bias."""
    padded = np.pad(x, [(0, 0), (left, right), (0, 0)])
    steps = x.shape[1]
    out = np.zeros((x.shape[0], steps, kernel.shape[2]))
    for t in range(steps):
        for j in range(kernel.shape[0]):
            out[:, t] += padded[:, t + j * dilation] @ kernel[j]
    return out + bias


def randomize(layer, seed=0):
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32) * 0.5)


def inputs(batch=2, steps=9, channels=4, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, steps, channels)).astype(np.float32)


@pytest.mark.parametrize("causal", [True, False])
def test_dilated_conv_matches_numpy(causal):
    conv = layers.DilatedConv1D(5, kernel_size=3, dilation_rate=2, causal=causal, norm="none")
    x = inputs()
    conv.build(x.shape)
    randomize(conv)
    left = 4 if causal else 2
    expected = numpy_conv(x, conv.kernel.numpy(), conv.bias.numpy(), 2, left, 4 - left)
    np.testing.assert_allclose(conv(x).numpy(), expected, atol=1e-4)


def test_causal_padding_is_54_for_k3_d27_and_the_future_does_not_leak():
    conv = layers.DilatedConv1D(3, kernel_size=3, dilation_rate=27, causal=True, norm="layer")
    assert conv.padding == 54
    x = inputs(steps=80, channels=3)
    before = conv(x).numpy()
    for t in (0, 27, 54, 60):
        changed = x.copy()
        changed[:, t + 1 :] += 10.0 * np.random.default_rng(t).normal(
            size=changed[:, t + 1 :].shape
        )
        after = conv(changed).numpy()
        np.testing.assert_allclose(after[:, : t + 1], before[:, : t + 1], atol=1e-5)
        assert np.abs(after[:, t + 1 :] - before[:, t + 1 :]).max() > 1e-3
    # Output 54 sees input 0 (the oldest tap), output 55 does not.
    changed = x.copy()
    changed[:, 0] += 5.0
    delta = np.abs(conv(changed).numpy() - before).max(-1)
    assert delta[:, 54].min() > 1e-4 and delta[:, 55:].max() < 1e-6


def test_separable_conv_matches_depthwise_then_pointwise_numpy():
    conv = layers.DilatedConv1D(
        6, kernel_size=3, dilation_rate=3, causal=True, norm="none", separable=True
    )
    x = inputs(steps=10)
    conv.build(x.shape)
    randomize(conv, 3)
    depthwise, pointwise = conv.depthwise_kernel.numpy(), conv.kernel.numpy()[0]
    padded = np.pad(x, [(0, 0), (6, 0), (0, 0)])
    mixed = sum(padded[:, j * 3 : j * 3 + 10] * depthwise[j] for j in range(3))
    np.testing.assert_allclose(conv(x).numpy(), mixed @ pointwise + conv.bias.numpy(), atol=1e-4)


def test_weight_norm_kernel_has_the_gain_as_its_norm():
    conv = layers.DilatedConv1D(4, kernel_size=3, norm="weight")
    x = inputs()
    conv.build(x.shape)
    randomize(conv, 4)
    v, g = conv.kernel.numpy(), conv.kernel_gain.numpy()
    kernel = g * v / np.sqrt((v**2).sum((0, 1)))
    expected = numpy_conv(x, kernel, conv.bias.numpy(), 1, 1, 1)
    np.testing.assert_allclose(conv(x).numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("norm", ["layer", "group", "batch"])
def test_norms_normalise_each_frame(norm):
    conv = layers.DilatedConv1D(8, kernel_size=1, norm=norm, groups=2)
    x = inputs(channels=3) * 7 + 3
    y = conv(x, training=True).numpy()
    if norm == "layer":
        np.testing.assert_allclose(y.mean(-1), 0, atol=1e-4)
        np.testing.assert_allclose(y.std(-1), 1, atol=1e-2)
    elif norm == "group":
        halves = y.reshape(2, 9, 2, 4)
        np.testing.assert_allclose(halves.mean(-1), 0, atol=1e-4)
    else:
        np.testing.assert_allclose(y.reshape(-1, 8).mean(0), 0, atol=1e-4)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: layers.DilatedConv1D(4, 3, 3, causal=True, norm="layer"),
        lambda: layers.DilatedConv1D(4, 3, 2, causal=True, norm="group", groups=2, separable=True),
        lambda: layers.HighwayConv1D(3, 9, causal=True, norm="batch"),
        lambda: layers.HighwayConv1D(3, 1, causal=True, norm="weight", highway_activation="relu"),
    ],
)
def test_step_by_step_equals_the_whole_sequence(layer):
    layer = layer()
    x = inputs(steps=30)
    layer(x)
    randomize(layer, 5)
    full = layer(x).numpy()
    queue = layer.initial_queue(2)
    frames = []
    for t in range(30):
        frame, queue = layer.step(x[:, t : t + 1], queue, t)
        frames.append(frame.numpy())
    np.testing.assert_allclose(np.concatenate(frames, 1), full, atol=1e-4)


def test_step_refuses_non_causal_wide_kernels():
    conv = layers.DilatedConv1D(4, 3, causal=False)
    conv(inputs())
    with pytest.raises(ValueError, match="causal"):
        conv.step(inputs(steps=1), tf.zeros([2, 2, 4]), 0)


def test_highway_limits_and_numpy_gate():
    highway = layers.HighwayConv1D(3, 1, norm="none")
    x = inputs()
    highway.build(x.shape)
    randomize(highway, 6)
    kernel, bias = highway.conv.kernel.numpy(), highway.conv.bias.numpy()
    hidden = numpy_conv(x, kernel, bias, 1, 1, 1)
    h1, h2 = hidden[..., :4], hidden[..., 4:]
    gate = 1 / (1 + np.exp(-h1))
    y = highway(x).numpy()
    assert y.shape == x.shape
    np.testing.assert_allclose(y, gate * h2 + (1 - gate) * x, atol=1e-4)
    # H1 -> +inf: the output is H2; H1 -> -inf: the output is X.
    for sign in (1.0, -1.0):
        highway.conv.bias.assign(
            np.concatenate([np.full(4, sign * 1e4), bias[4:]]).astype(np.float32)
        )
        np.testing.assert_allclose(highway(x).numpy(), h2 if sign > 0 else x, atol=1e-4)


def test_transposed_conv_doubles_time_and_matches_numpy():
    deconv = layers.TransposedConv1D(3, kernel_size=3, strides=2, norm="none")
    x = inputs(steps=5)
    deconv.build(x.shape)
    randomize(deconv, 7)
    kernel = deconv.kernel.numpy()  # [k, out, in]
    # Scatter form: input t adds kernel[j] to output 2t + j - pad_left, "same" output length 2T.
    full = np.zeros((2, 2 * 5 + 3, 3))
    for t in range(5):
        for j in range(3):
            full[:, 2 * t + j] += x[:, t] @ kernel[j].T
    # It is the adjoint of a stride-2 "same" conv on 10 frames: (5 - 1) * 2 + 3 - 10 = 1 frame
    # of padding in total, 1 // 2 = 0 of it on the left, so output o = 2t + j.
    expected = full[:, :10] + deconv.bias.numpy()
    y = deconv(x).numpy()
    assert y.shape == (2, 10, 3)
    np.testing.assert_allclose(y, expected, atol=1e-4)


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="norm"):
        layers.DilatedConv1D(4, norm="instance")
    with pytest.raises(ValueError, match="dropout"):
        layers.HighwayConv1D(dropout=1.5)
    with pytest.raises(ValueError, match="highway_activation"):
        layers.HighwayConv1D(highway_activation="tanh")
    with pytest.raises(ValueError, match="groups"):
        layers.DilatedConv1D(6, norm="group", groups=4)(inputs())


def build_model():
    x = keras.Input((None, 4))
    y = layers.DilatedConv1D(8, 3, 3, causal=True, activation="relu", dropout=0.1)(x)
    y = layers.HighwayConv1D(3, 9, causal=True, norm="group", groups=2, separable=True)(y)
    y = layers.TransposedConv1D(4, norm="weight")(y)
    return keras.Model(x, layers.HighwayConv1D(1, 1, norm="batch")(y))


def test_keras_save_and_load_round_trip(tmp_path):
    model = build_model()
    x = inputs(steps=7)
    path = str(tmp_path / "conv.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-5)
    for layer in model.layers[1:]:
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_xla_training_step(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = build_model()
        optimizer = keras.optimizers.Adam(1e-2)
        x = tf.constant(inputs(steps=8))
        target = tf.constant(np.random.default_rng(2).normal(size=(2, 16, 4)).astype(np.float32))

        @tf.function(jit_compile=True)
        def train_step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(
                    tf.square(tf.cast(model(x, training=True), tf.float32) - target)
                )
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(gradients, model.trainable_variables)
            return loss, gradients

        first, gradients = train_step()
        assert all(np.isfinite(g.numpy()).all() for g in gradients)
        for _ in range(20):
            last, _ = train_step()
        assert float(last) < float(first)
    finally:
        keras.config.set_dtype_policy(previous)
