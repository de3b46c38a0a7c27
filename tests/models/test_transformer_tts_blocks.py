"""Transformer TTS blocks: numpy known answers, Keras round trips, XLA training steps, bf16."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers import MultiHeadAttention
from ttszoo.models.transformer_tts.blocks import (
    DecoderBlock,
    DecoderPrenet,
    EncoderBlock,
    EncoderPrenet,
    FeedForward,
    Postnet,
)

B, T, N, D = 2, 5, 4, 8


def test_attention_matches_numpy_with_causal_and_key_masks():
    layer = MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.0)
    rng = np.random.default_rng(0)
    query = rng.normal(size=(B, T, D)).astype(np.float32)
    key_mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
    output, weights = layer(query, query, key_mask=key_mask, causal=True)
    wq, bq = (w.numpy() for w in layer.query_projection.weights)
    wk, bk = (w.numpy() for w in layer.key_projection.weights)
    wv, bv = (w.numpy() for w in layer.value_projection.weights)
    wo, bo = (w.numpy() for w in layer.output_projection.weights)

    def heads(x):
        return x.reshape(B, T, 2, 3).transpose(0, 2, 1, 3)

    q, k, v = heads(query @ wq + bq), heads(query @ wk + bk), heads(query @ wv + bv)
    energies = q @ k.transpose(0, 1, 3, 2) / np.sqrt(3)
    allowed = np.tril(np.ones((T, T), bool))[None, None] & key_mask[:, None, None, :]
    energies = np.where(allowed, energies, -1e9)
    expected_weights = np.exp(energies - energies.max(-1, keepdims=True))
    expected_weights /= expected_weights.sum(-1, keepdims=True)
    context = (expected_weights @ v).transpose(0, 2, 1, 3).reshape(B, T, 6)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-5)
    np.testing.assert_allclose(output.numpy(), context @ wo + bo, atol=1e-5)


def _inputs():
    rng = np.random.default_rng(1)
    return rng.normal(size=(B, T, D)).astype(np.float32), rng.normal(size=(B, N, D)).astype(
        np.float32
    )


LAYERS = {
    "attention": (lambda: MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1), 2),
    "feed_forward": (lambda: FeedForward(16, 0.1), 1),
    "encoder_block": (lambda: EncoderBlock(2, 4, 16, 0.1), 1),
    "decoder_block": (lambda: DecoderBlock(2, 4, 16, 0.1), 2),
    "decoder_block_sma": (
        lambda: DecoderBlock(2, 4, 16, 0.1, stepwise_monotonic=True, monotonic=True),
        2,
    ),
    "encoder_prenet": (lambda: EncoderPrenet(D, 6, 2, 3, 0.1), 1),
    "decoder_prenet": (lambda: DecoderPrenet(D, 6, 0.5), 1),
    "postnet": (lambda: Postnet(6, 2, 3, 0.1), 1),
}


def _call(layer, arity, x, memory, training=False):
    outputs = layer(x, memory, training=training) if arity == 2 else layer(x, training=training)
    return outputs[0] if isinstance(outputs, tuple) else outputs


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_config_and_keras_file_round_trip(name, tmp_path):
    make, arity = LAYERS[name]
    layer = make()
    x_input = keras.Input((T, D))
    memory_input = keras.Input((N, D))
    inputs = [x_input, memory_input] if arity == 2 else [x_input]
    model = keras.Model(inputs, _call(layer, arity, x_input, memory_input))
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x, memory = _inputs()
    feed = [x, memory] if arity == 2 else [x]
    np.testing.assert_allclose(loaded(feed).numpy(), model(feed).numpy(), atol=1e-6)


# The SMA decoder block holds every other block's sublayers (attention, feed-forward, norms);
# the postnet covers the convolutions. Each compile takes seconds on the shared CPU.
@pytest.mark.parametrize("name", ["decoder_block_sma", "postnet"])
def test_jit_compiled_training_step(name):
    make, arity = LAYERS[name]
    layer = make()
    x, memory = _inputs()
    target = np.zeros((B, T, D), np.float32)
    _call(layer, arity, x, memory)
    optimizer = keras.optimizers.Adam(1e-2)
    optimizer.build(layer.trainable_variables)

    @tf.function(jit_compile=True)
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(_call(layer, arity, x, memory, training=True) - target))
        gradients = tape.gradient(loss, layer.trainable_variables)
        optimizer.apply(gradients, layer.trainable_variables)
        return loss, gradients

    loss, gradients = step()
    assert np.isfinite(loss.numpy())
    assert all(np.isfinite(tf.convert_to_tensor(g).numpy()).all() for g in gradients)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_mixed_bfloat16_runs_close_to_float32(name):
    make, arity = LAYERS[name]
    x, memory = _inputs()
    reference = make()
    expected = _call(reference, arity, x, memory).numpy()
    mixed = type(reference).from_config({**reference.get_config(), "dtype": "mixed_bfloat16"})
    _call(mixed, arity, x, memory)
    mixed.set_weights(reference.get_weights())
    got = _call(mixed, arity, x, memory)
    assert got.dtype == tf.bfloat16
    np.testing.assert_allclose(got.numpy().astype(np.float32), expected, atol=0.15, rtol=0.05)


def test_decoder_block_step_matches_parallel_call():
    block = DecoderBlock(2, 4, 16, 0.0, stepwise_monotonic=True, monotonic=True)
    x, memory = _inputs()
    memory_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    parallel, alignment = block(x, memory, memory_mask=memory_mask)
    state = block.initial_state(memory, memory_mask, T)
    for index in range(T):
        output, step_alignment, state = block.step(
            x[:, index], state, tf.constant(index), memory_mask
        )
        np.testing.assert_allclose(output.numpy(), parallel.numpy()[:, index], atol=1e-5)
        np.testing.assert_allclose(step_alignment.numpy(), alignment.numpy()[:, index], atol=1e-5)


def _identity_prenet(rate):
    """A decoder prenet whose three linears are identities: on positive inputs it returns the
    input times both dropout masks (each kept unit scaled by ``1 / (1 - rate)``)."""
    prenet = DecoderPrenet(output_dim=64, hidden_dim=64, dropout=rate)
    prenet.build((None, 64))
    for dense in (prenet.first, prenet.second, prenet.projection):
        dense.kernel.assign(np.eye(64, dtype=np.float32))
        dense.bias.assign(np.zeros(64, np.float32))
    return prenet


def test_decoder_prenet_inference_noise_is_seeded_dropout():
    prenet = _identity_prenet(0.5)
    inputs = np.random.default_rng(0).uniform(0.5, 1.5, (50, 64)).astype(np.float32)
    np.testing.assert_allclose(prenet(inputs).numpy(), inputs, rtol=1e-6)  # no seed: no noise
    noisy = prenet(inputs, noise_seed=tf.constant([3, 0])).numpy()
    # Every unit went through both masks: zero, or kept twice and scaled by 2 * 2.
    kept = noisy != 0
    np.testing.assert_allclose(noisy[kept], 4 * inputs[kept], rtol=1e-5)
    assert abs(kept.mean() - 0.25) < 0.03  # 3200 units, P(kept) = 0.5 * 0.5
    np.testing.assert_array_equal(prenet(inputs, noise_seed=tf.constant([3, 0])).numpy(), noisy)
    other = prenet(inputs, noise_seed=tf.constant([3, 1])).numpy()
    assert (other != noisy).mean() > 0.2
    # Rate 0 leaves the input as it is, seed or not.
    still = _identity_prenet(0.0)(inputs, noise_seed=tf.constant([3, 0])).numpy()
    np.testing.assert_allclose(still, inputs, rtol=1e-6)
