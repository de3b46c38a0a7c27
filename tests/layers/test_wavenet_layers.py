"""WaveNet layers: numpy known answers, incremental steps, serialisation, XLA and bf16."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers import (
    DilatedConv1D,
    GatedResidualBlock,
    MelUpsampler,
    frame_interpolation_weights,
)


def numpy_causal_conv(x, kernel, bias, dilation):
    """y[t] = b + sum_k W[k] x[t - (K - 1 - k) d], zeros before t = 0 (written out in loops)."""
    batch, length, _ = x.shape
    taps = kernel.shape[0]
    y = np.zeros((batch, length, kernel.shape[2]))
    for t in range(length):
        y[:, t] = bias
        for k in range(taps):
            source = t - (taps - 1 - k) * dilation
            if source >= 0:
                y[:, t] += x[:, source] @ kernel[k]
    return y


def causal_conv(filters, kernel_size=2, dilation_rate=1, **kwargs):
    """WaveNet's dilated causal convolution, as GatedResidualBlock builds it."""
    return DilatedConv1D(filters, kernel_size, dilation_rate, causal=True, norm="none", **kwargs)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def step_through(layer, x):
    """Runs ``layer.step`` over every time step of x [B, S, C] and stacks the outputs."""
    queue = layer.initial_queue(x.shape[0])
    outputs = []
    for t in range(x.shape[1]):
        y, queue = layer.step(x[:, t], queue, t)
        outputs.append(y.numpy())
    return np.stack(outputs, axis=1)


@pytest.mark.parametrize("kernel_size, dilation", [(2, 1), (2, 4), (3, 3)])
def test_dilated_causal_conv_matches_numpy_and_steps(kernel_size, dilation):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 17, 3)).astype(np.float32)
    layer = causal_conv(5, kernel_size, dilation, bias_initializer="random_normal")
    y = layer(x).numpy()
    expected = numpy_causal_conv(x, layer.kernel.numpy(), layer.bias.numpy(), dilation)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert layer.queue_length == (kernel_size - 1) * dilation
    np.testing.assert_allclose(step_through(layer, tf.constant(x)), y, atol=1e-5)


def test_causal_conv_output_ignores_future_inputs():
    layer = causal_conv(2, 3, 2)
    x = np.random.default_rng(1).normal(size=(1, 12, 2)).astype(np.float32)
    changed = x.copy()
    changed[:, 7:] += 10.0
    np.testing.assert_allclose(layer(x)[:, :7], layer(changed)[:, :7], atol=1e-6)
    assert np.abs(layer(x)[:, 7:] - layer(changed)[:, 7:]).min() > 0


def test_gated_residual_block_matches_numpy_and_steps():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 11, 4)).astype(np.float32)
    condition = rng.normal(size=(2, 11, 6)).astype(np.float32)
    block = GatedResidualBlock(4, 6, 5, kernel_size=2, dilation_rate=2)
    residual, skip = (t.numpy() for t in block(x, condition))
    conv = block.convolution
    hidden = numpy_causal_conv(x, conv.kernel.numpy(), conv.bias.numpy(), 2) + condition
    gated = np.tanh(hidden[..., :3]) * sigmoid(hidden[..., 3:])
    skip_layer, residual_layer = block.skip_projection, block.residual_projection
    expected_skip = gated @ skip_layer.kernel.numpy() + skip_layer.bias.numpy()
    expected_residual = (
        x + gated @ residual_layer.kernel.numpy() + residual_layer.bias.numpy()
    ) * np.sqrt(0.5)
    np.testing.assert_allclose(skip, expected_skip, atol=1e-5)
    np.testing.assert_allclose(residual, expected_residual, atol=1e-5)
    queue = block.initial_queue(2)
    for t in range(11):
        res_t, skip_t, queue = block.step(x[:, t], condition[:, t], queue, t)
        np.testing.assert_allclose(res_t, residual[:, t], atol=1e-5)
        np.testing.assert_allclose(skip_t, skip[:, t], atol=1e-5)


def test_last_block_without_residual_output_passes_its_input_through():
    x = np.random.default_rng(7).normal(size=(1, 5, 4)).astype(np.float32)
    block = GatedResidualBlock(4, 6, 3, residual_output=False)
    residual, skip = block(x)
    np.testing.assert_array_equal(residual, x)
    assert skip.shape == (1, 5, 3)
    assert "residual_projection" not in " ".join(w.path for w in block.weights)


def test_mel_upsampler_is_linear_interpolation_between_frame_centres():
    rng = np.random.default_rng(3)
    frames = rng.normal(size=(2, 5, 3)).astype(np.float32)
    hop = 4
    upsampled = MelUpsampler(hop)(frames).numpy()
    assert upsampled.shape == (2, 20, 3)
    centres = (np.arange(5) + 0.5) * hop
    samples = np.arange(20) + 0.5
    for b in range(2):
        for c in range(3):
            # np.interp clamps to the edge values outside the first and last centre.
            expected = np.interp(samples, centres, frames[b, :, c])
            np.testing.assert_allclose(upsampled[b, :, c], expected, atol=1e-6)
    previous, own, following = frame_interpolation_weights(hop)
    np.testing.assert_allclose(previous + own + following, 1.0, atol=1e-7)
    layer = MelUpsampler(hop)
    for position in [0, 1, 5, 10, 19]:
        np.testing.assert_allclose(
            layer.step(tf.constant(frames), position), upsampled[:, position], atol=1e-6
        )


def test_layers_round_trip_through_config_and_keras_file(tmp_path):
    inputs = keras.Input((None, 4))
    condition = keras.Input((None, 6))
    residual, skip = GatedResidualBlock(4, 6, 3, kernel_size=3, dilation_rate=2)(inputs, condition)
    frames = keras.Input((None, 2))
    upsampled = MelUpsampler(3)(frames)
    conv = causal_conv(2, 2, 4)(residual)
    model = keras.Model([inputs, condition, frames], [conv, skip, upsampled])
    rng = np.random.default_rng(4)
    data = [
        rng.normal(size=(1, 9, 4)).astype(np.float32),
        rng.normal(size=(1, 9, 6)).astype(np.float32),
        rng.normal(size=(1, 3, 2)).astype(np.float32),
    ]
    path = tmp_path / "wavenet_layers.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    for before, after in zip(model(data), loaded(data), strict=True):
        np.testing.assert_allclose(before, after, atol=1e-6)
    for layer in model.layers[3:]:
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_layers_train_inside_an_xla_step():
    block = GatedResidualBlock(4, 6, 3, dilation_rate=2)
    conv = causal_conv(4, 2, 3)
    upsampler = MelUpsampler(5)
    optimizer = keras.optimizers.Adam(1e-2)
    rng = np.random.default_rng(5)
    frames = tf.constant(rng.normal(size=(2, 4, 6)).astype(np.float32))
    x = tf.constant(rng.normal(size=(2, 20, 4)).astype(np.float32))
    block(x, upsampler(frames))
    conv(x)
    variables = block.trainable_variables + conv.trainable_variables

    @tf.function(jit_compile=True)
    def train_step():
        with tf.GradientTape() as tape:
            residual, skip = block(conv(x), upsampler(frames))
            loss = tf.reduce_mean(tf.square(residual)) + tf.reduce_mean(tf.square(skip))
        gradients = tape.gradient(loss, variables)
        optimizer.apply(gradients, variables)
        return loss, gradients

    losses = [float(train_step()[0]) for _ in range(5)]
    gradients = train_step()[1]
    assert all(np.isfinite(g).all() and np.abs(g).max() > 0 for g in gradients)
    assert losses[-1] < losses[0]


def test_layers_run_under_mixed_bfloat16_and_step_matches():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(1, 8, 4)).astype(np.float32)
    condition = rng.normal(size=(1, 8, 6)).astype(np.float32)
    reference = GatedResidualBlock(4, 6, 3, dilation_rate=2)
    expected = reference(x, condition)[0].numpy()
    block = GatedResidualBlock(4, 6, 3, dilation_rate=2, dtype="mixed_bfloat16")
    block(x, condition)
    block.set_weights(reference.get_weights())
    residual, skip = block(x, condition)
    assert residual.dtype == tf.bfloat16 and skip.dtype == tf.bfloat16
    assert block.convolution.kernel.dtype == "float32"
    np.testing.assert_allclose(tf.cast(residual, tf.float32), expected, atol=0.1)

    @tf.function(jit_compile=True)
    def steps():
        queue = block.initial_queue(1)
        outputs = []
        for t in range(8):
            res_t, _, queue = block.step(x[:, t], condition[:, t], queue, t)
            outputs.append(res_t)
        return tf.stack(outputs, axis=1)

    stepped = steps()
    assert stepped.dtype == tf.bfloat16
    np.testing.assert_allclose(
        tf.cast(stepped, tf.float32), tf.cast(residual, tf.float32), atol=0.05
    )


def test_bad_settings_and_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="kernel_size must be an int >= 2"):
        GatedResidualBlock(4, 6, 3, kernel_size=1)
    with pytest.raises(ValueError, match="dilation_rate"):
        causal_conv(4, dilation_rate=0)
    with pytest.raises(ValueError, match="gate_channels must be even"):
        GatedResidualBlock(4, 5, 3)
    with pytest.raises(ValueError, match="hop_length"):
        MelUpsampler(0)
    conv = causal_conv(2)
    conv(np.zeros((1, 4, 3), np.float32))
    with pytest.raises(ValueError, match="built for 3"):
        conv(np.zeros((1, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"\[B, T, C\]"):
        conv(np.zeros((4, 3), np.float32))
    block = GatedResidualBlock(4, 6, 3)
    with pytest.raises(ValueError, match="residual_channels=4"):
        block(np.zeros((1, 4, 2), np.float32))
    block(np.zeros((1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="condition has 5 channels"):
        block(np.zeros((1, 4, 4), np.float32), np.zeros((1, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"frames \[B, T, C\]"):
        MelUpsampler(2)(np.zeros((3, 4), np.float32))
