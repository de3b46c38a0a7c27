"""MultiHeadAttention against a numpy forward pass: masks, and cached incremental decoding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers import MultiHeadAttention

B, T, D, HEADS, KEY_DIM, VALUE_DIM, OUT = 2, 6, 5, 2, 3, 4, 7


def make_layer():
    layer = MultiHeadAttention(
        num_heads=HEADS, key_dim=KEY_DIM, value_dim=VALUE_DIM, output_dim=OUT, dropout=0.0
    )
    layer.build((None, None, D))
    return layer


def numpy_attention(layer, query, key, allowed):
    """Float64 reference: ``allowed`` [B, Tq, Tk] bool marks the keys each query may see."""
    w = {v.path.split("/", 1)[1]: v.numpy().astype(np.float64) for v in layer.weights}

    def dense(x, name):
        return x @ w[f"{name}/kernel"] + w[f"{name}/bias"]

    batch, num_queries, num_keys = query.shape[0], query.shape[1], key.shape[1]
    q = dense(query, "query_projection").reshape(batch, num_queries, HEADS, KEY_DIM)
    k = dense(key, "key_projection").reshape(batch, num_keys, HEADS, KEY_DIM)
    v = dense(key, "value_projection").reshape(batch, num_keys, HEADS, VALUE_DIM)
    energies = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(KEY_DIM)
    energies = np.where(allowed[:, None], energies, -np.inf)
    weights = np.exp(energies - energies.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    context = np.einsum("bhqk,bkhd->bqhd", weights, v).reshape(batch, num_queries, -1)
    return dense(context, "output_projection"), weights


def test_full_attention_matches_numpy_with_key_query_and_causal_masks():
    layer = make_layer()
    rng = np.random.default_rng(0)
    query = rng.normal(size=(B, T, D)).astype(np.float32)
    key = rng.normal(size=(B, 4, D)).astype(np.float32)
    key_valid = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    query_valid = np.array([[1] * T, [1] * 4 + [0] * 2], bool)
    output, weights = layer(query, key, query_mask=query_valid, key_mask=key_valid)
    expected_output, expected_weights = numpy_attention(
        layer, query, key, np.broadcast_to(key_valid[:, None], (B, T, 4))
    )
    expected_output *= query_valid[:, :, None]
    expected_weights *= query_valid[:, None, :, None]
    np.testing.assert_allclose(output.numpy(), expected_output, atol=1e-5)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-6)

    output, weights = layer(query, causal=True)
    causal = np.broadcast_to(np.tril(np.ones((T, T), bool)), (B, T, T))
    expected_output, expected_weights = numpy_attention(layer, query, query, causal)
    np.testing.assert_allclose(output.numpy(), expected_output, atol=1e-5)
    np.testing.assert_allclose(weights.numpy(), expected_weights, atol=1e-6)


def _decode(layer, query, max_length, step):
    cache = layer.initial_cache(B, max_length)
    outputs, caches = [], []
    for index in range(T):
        output, weights, cache = step(query[:, index], cache, tf.constant(index))
        outputs.append(output.numpy())
        caches.append((cache[0].numpy(), weights.numpy()))
    return np.stack(outputs, axis=1), caches


@pytest.mark.parametrize("compiled", [False, True])
def test_cached_incremental_decoding_equals_causal_attention(compiled):
    layer = make_layer()
    query = np.random.default_rng(1).normal(size=(B, T, D)).astype(np.float32)
    max_length = T + 3  # a cache longer than the steps decoded: the tail must stay unseen
    step = layer.cached_step
    if compiled:
        step = tf.function(layer.cached_step, jit_compile=True)
    got, caches = _decode(layer, query, max_length, step)
    causal = np.broadcast_to(np.tril(np.ones((T, T), bool)), (B, T, T))
    expected, expected_weights = numpy_attention(layer, query, query, causal)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    keys = np.asarray(layer.project_memory(query)[0])
    for index, (cached_keys, weights) in enumerate(caches):
        # The cache holds exactly the keys of steps 0..index, in place, zeros after.
        np.testing.assert_allclose(
            cached_keys[:, :, : index + 1], keys[:, :, : index + 1], atol=1e-6
        )
        assert (cached_keys[:, :, index + 1 :] == 0).all()
        np.testing.assert_allclose(weights[:, :, :T], expected_weights[:, :, index], atol=1e-6)
        assert (weights[:, :, index + 1 :] == 0).all()


def test_config_round_trip_and_bad_arguments():
    layer = make_layer()
    clone = MultiHeadAttention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="dropout"):
        MultiHeadAttention(dropout=1.0)
    with pytest.raises(ValueError, match="num_heads"):
        MultiHeadAttention(num_heads=0)
    with pytest.raises(ValueError, match=r"\[batch, time, features\]"):
        MultiHeadAttention()(np.zeros((2, 3), np.float32))


def test_keras_file_round_trip(tmp_path):
    query_input = keras.Input((T, D))
    layer = MultiHeadAttention(num_heads=HEADS, key_dim=KEY_DIM, dropout=0.1)
    model = keras.Model(query_input, layer(query_input, causal=True)[0])
    model.save(tmp_path / "attention.keras")
    loaded = keras.saving.load_model(tmp_path / "attention.keras", safe_mode=True)
    query = np.random.default_rng(2).normal(size=(B, T, D)).astype(np.float32)
    np.testing.assert_allclose(loaded(query).numpy(), model(query).numpy(), atol=1e-6)
