"""Stepwise monotonic multihead attention against an independent numpy forward pass."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo import layers

HEADS, KEY_DIM, VALUE_DIM = 2, 4, 3


def make_layer(**kwargs):
    options = dict(num_heads=HEADS, key_dim=KEY_DIM, value_dim=VALUE_DIM, dropout=0.0, seed=7)
    options.update(kwargs)
    layer = layers.StepwiseMonotonicMultiHeadAttention(**options)
    layer.build((None, None, 5), (None, None, 6))
    return layer


def inputs(batch=2, queries=9, keys=6, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(batch, queries, 5)).astype(np.float32),
        rng.normal(size=(batch, keys, 6)).astype(np.float32),
    )


def numpy_sma(layer, query, key, query_valid, key_valid, monotonic, threshold=None):
    """Float64 forward pass in eval mode: keep rule, one-hot start at key 0.

    The focused heads are the argmax head (threshold None) or those whose rate reaches the
    threshold (the argmax head if none does); their energies / softmax weights are averaged.
    """
    w = {v.path.split("/", 1)[1]: v.numpy().astype(np.float64) for v in layer.weights}

    def dense(x, name):
        return x @ w[f"{name}/kernel"] + w[f"{name}/bias"]

    batch, num_queries = query.shape[:2]
    num_keys = key.shape[1]
    output_dim = w["output_projection/kernel"].shape[1]
    outputs = np.zeros((batch, num_queries, output_dim))
    alignments = np.zeros((batch, num_queries, num_keys))
    rates = np.zeros((batch, HEADS))
    for b in range(batch):
        q = dense(query[b], "query_projection").reshape(num_queries, HEADS, KEY_DIM)
        k = dense(key[b], "key_projection").reshape(num_keys, HEADS, KEY_DIM)
        v = dense(key[b], "value_projection").reshape(num_keys, HEADS, VALUE_DIM)
        energies = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(KEY_DIM)
        length = int(key_valid[b].sum())
        masked = np.where(key_valid[b], energies, -np.inf)
        softmax = np.exp(masked - masked.max(-1, keepdims=True))
        softmax /= softmax.sum(-1, keepdims=True)
        softmax *= query_valid[b][None, :, None]
        rates[b] = (softmax.max(-1) * query_valid[b]).sum(-1) / query_valid[b].sum()
        focused = np.eye(HEADS)[np.argmax(rates[b])]
        if threshold is not None and (rates[b] >= threshold).any():
            focused = (rates[b] >= threshold) / (rates[b] >= threshold).sum()
        if monotonic:
            stay_logits = np.einsum("h,hqk->qk", focused, energies) + w["score_bias"]
            p = 1 / (1 + np.exp(-stay_logits))
            previous = np.eye(num_keys)[0]
            shared = np.zeros((num_queries, num_keys))
            for i in range(num_queries):
                current = np.zeros(num_keys)
                for j in range(length):
                    stay = 1.0 if j == length - 1 else p[i, j]
                    current[j] += previous[j] * stay
                    if j < length - 1:
                        current[j + 1] += previous[j] * (1 - stay)
                shared[i] = current
                previous = current
            shared *= query_valid[b][:, None]
            alignments[b] = shared
            per_head = np.repeat(shared[None], HEADS, axis=0)
        else:
            alignments[b] = np.einsum("h,hqk->qk", focused, softmax)
            per_head = softmax
        context = np.einsum("hqk,khd->qhd", per_head, v).reshape(num_queries, -1)
        outputs[b] = dense(context, "output_projection") * query_valid[b][:, None]
    return outputs, alignments, rates


@pytest.mark.parametrize("monotonic", [False, True])
@pytest.mark.parametrize("threshold", [None, 0.0, 0.45])
def test_matches_numpy_with_masks(monotonic, threshold):
    selection = "argmax" if threshold is None else threshold
    layer = make_layer(monotonic=monotonic, head_selection=selection)
    query, key = inputs()
    query_valid = np.array([[True] * 9, [True] * 6 + [False] * 3])
    key_valid = np.array([[True] * 4 + [False] * 2, [True] * 6])
    output, alignment, rate = layer(
        query, key, query_mask=query_valid, key_mask=key_valid, training=False
    )
    expected = numpy_sma(layer, query, key, query_valid, key_valid, monotonic, threshold)
    np.testing.assert_allclose(output.numpy(), expected[0], atol=1e-4)
    np.testing.assert_allclose(alignment.numpy(), expected[1], atol=1e-5)
    np.testing.assert_allclose(rate.numpy(), expected[2], atol=1e-5)
    assert alignment.dtype == tf.float32 and rate.shape == (2, HEADS)
    np.testing.assert_array_equal(alignment.numpy()[0, :, 4:], 0.0)
    np.testing.assert_array_equal(output.numpy()[1, 6:], 0.0)


@pytest.mark.parametrize("space", ["log", "probability"])
def test_keep_rule_conserves_and_leak_rule_loses_mass(space):
    query, key = inputs(queries=40, keys=3)
    keep = make_layer(monotonic=True, space=space, score_bias_init=0.0)
    leak = make_layer(monotonic=True, space=space, score_bias_init=0.0, end_of_memory="leak")
    leak.set_weights(keep.get_weights())
    kept = keep(query, key)[1].numpy()
    leaked = leak(query, key)[1].numpy()
    np.testing.assert_allclose(kept.sum(-1), 1.0, atol=1e-5)
    assert (np.diff(leaked.sum(-1), axis=1) <= 1e-6).all()
    assert leaked.sum(-1)[:, -1].max() < 0.5


def test_focus_rate_and_head_selection_known_answers():
    one_hot = np.eye(5)[[0, 1, 1, 3]][None, None]  # [1, 1, 4, 5]
    uniform = np.full((1, 1, 4, 5), 0.2)
    rates = layers.focus_rate(np.concatenate([one_hot, uniform], axis=1)).numpy()
    np.testing.assert_allclose(rates, [[1.0, 0.2]], atol=1e-7)
    half_padded = np.concatenate([np.eye(5)[[0, 1]], np.full((2, 5), 0.2)])[None, None]
    masked = layers.focus_rate(half_padded, np.array([[True, True, False, False]]))
    np.testing.assert_allclose(masked.numpy(), [[1.0]], atol=1e-7)

    rates = np.array([[0.2, 0.9, 0.6], [0.1, 0.3, 0.2]], np.float32)
    argmax = layers.focused_head_weights(rates, "argmax").numpy()
    np.testing.assert_array_equal(argmax, [[0, 1, 0], [0, 1, 0]])
    threshold = layers.focused_head_weights(rates, 0.5).numpy()
    np.testing.assert_allclose(threshold, [[0, 0.5, 0.5], [0, 1, 0]])  # row 2: none above


def test_noise_only_in_training():
    query, key = inputs()
    layer = make_layer(monotonic=True, noise_std=2.0)
    evaluation = layer(query, key, training=False)[1].numpy()
    np.testing.assert_array_equal(evaluation, layer(query, key)[1].numpy())
    noisy = layer(query, key, training=True)[1].numpy()
    assert np.abs(noisy - evaluation).max() > 1e-3
    quiet = make_layer(monotonic=True, noise_std=0.0)
    quiet.set_weights(layer.get_weights())
    np.testing.assert_allclose(quiet(query, key, training=True)[1].numpy(), evaluation, atol=1e-6)


@pytest.mark.parametrize("hard", [False, True])
def test_step_by_step_decoding_matches_the_full_call(hard):
    query, key = inputs(queries=8, keys=5)
    key_valid = np.array([[True] * 3 + [False] * 2, [True] * 5])
    layer = make_layer(monotonic=True, head_selection=0.0, score_bias_init=0.5)
    output, alignment, _ = layer(query, key, key_mask=key_valid, hard=hard)
    memory = layer.project_memory(key)
    previous = None
    for i in range(8):
        step_output, previous, _ = layer.step(query[:, i], memory, previous, key_valid, hard)
        np.testing.assert_allclose(step_output.numpy(), output.numpy()[:, i], atol=1e-5)
        np.testing.assert_allclose(previous.numpy(), alignment.numpy()[:, i], atol=1e-6)


def test_hard_mode_is_one_hot_and_moves_at_most_one_key():
    query, key = inputs(queries=30, keys=6)
    layer = make_layer(monotonic=True, score_bias_init=0.3)
    alignment = layer(query, key, hard=True)[1].numpy()
    np.testing.assert_array_equal(alignment.sum(-1), 1.0)
    np.testing.assert_array_equal(alignment.max(-1), 1.0)
    moves = np.diff(np.concatenate([np.zeros((2, 1)), alignment.argmax(-1)], axis=1), axis=1)
    assert set(np.unique(moves)) <= {0, 1}
    with pytest.raises(ValueError, match="inference"):
        layer(query, key, hard=True, training=True)


def test_fully_padded_memory_stays_finite():
    query, key = inputs()
    layer = make_layer(monotonic=True)
    output, alignment, rate = layer(query, key, key_mask=np.zeros((2, 6), bool))
    for tensor in (output, alignment, rate):
        assert np.isfinite(tensor.numpy()).all()


def test_keras_masks_are_picked_up():
    query_input = keras.Input((None, 5))
    key_input = keras.Input((None, 6))
    layer = make_layer(monotonic=True)
    masked_key = keras.layers.Masking(0.0)(key_input)
    output, alignment, _ = layer(query_input, masked_key)
    model = keras.Model([query_input, key_input], [output, alignment])
    query, key = inputs()
    key[0, 4:] = 0.0
    _, model_alignment = model([query, key])
    _, explicit = layer(query, key, key_mask=np.abs(key).sum(-1) > 0)[:2]
    np.testing.assert_allclose(model_alignment.numpy(), explicit.numpy(), atol=1e-6)
    np.testing.assert_array_equal(model_alignment.numpy()[0, :, 4:], 0.0)


def test_config_and_keras_file_round_trip_keep_the_switch(tmp_path):
    layer = make_layer(head_selection=0.4, space="probability", end_of_memory="leak")
    clone = layers.StepwiseMonotonicMultiHeadAttention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()

    query_input = keras.Input((9, 5))
    key_input = keras.Input((6, 6))
    sma = layers.StepwiseMonotonicMultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)
    output, alignment, rate = sma(query_input, key_input)
    model = keras.Model([query_input, key_input], [output, alignment, rate])
    sma.monotonic = True
    path = tmp_path / "sma.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.layers[-1].monotonic
    query, key = inputs()
    for got, want in zip(loaded([query, key]), model([query, key]), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)


def test_jit_compiled_training_steps_before_and_after_the_switch():
    layer = make_layer(dropout=0.1, noise_std=1.0)
    optimizer = keras.optimizers.Adam(0.01)
    query, key = inputs()
    target = np.random.default_rng(9).normal(size=(2, 9, 5)).astype(np.float32)

    def make_train_step():
        # The switch is read at trace time: each state gets its own compiled step.
        @tf.function(jit_compile=True)
        def train_step():
            with tf.GradientTape() as tape:
                output, alignment, _ = layer(query, key, training=True)
                loss = tf.reduce_mean(tf.square(output - target))
            gradients = tape.gradient(loss, layer.trainable_variables)
            optimizer.apply_gradients(zip(gradients, layer.trainable_variables, strict=True))
            return loss, alignment, gradients

        return train_step

    softmax_losses = [make_train_step()() for _ in range(1)]
    softmax_alignment = softmax_losses[0][1]
    layer.monotonic = True
    bias_before = float(layer.score_bias)
    train_step = make_train_step()
    losses = []
    for _ in range(20):
        loss, monotonic_alignment, gradients = train_step()
        losses.append(float(loss))
        assert all(np.isfinite(g.numpy()).all() for g in gradients)
    assert losses[-1] < losses[0]
    assert float(layer.score_bias) != bias_before  # the stay bias trains once switched on
    # Monotonic alignments start at key 0 and can move at most one key per step.
    assert (monotonic_alignment.numpy()[:, 0, 2:] < 1e-6).all()
    assert not (softmax_alignment.numpy()[:, 0, 2:] < 1e-6).all()


def test_mixed_bfloat16_matches_float32():
    reference = make_layer(monotonic=True)
    mixed = make_layer(monotonic=True, dtype="mixed_bfloat16")
    mixed.set_weights(reference.get_weights())
    query, key = inputs()
    output, alignment, rate = mixed(query, key, training=True)
    assert output.dtype == tf.bfloat16 and alignment.dtype == tf.float32
    assert mixed.score_bias.dtype == "float32"
    output, alignment, rate = mixed(query, key)
    want = reference(query, key)
    np.testing.assert_allclose(tf.cast(output, tf.float32).numpy(), want[0].numpy(), atol=0.1)
    np.testing.assert_allclose(alignment.numpy(), want[1].numpy(), atol=0.05)
    np.testing.assert_allclose(alignment.numpy().sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_heads=0), "num_heads"),
        (dict(key_dim=2.5), "key_dim"),
        (dict(dropout=1.0), "dropout"),
        (dict(noise_std=-1.0), "noise_std"),
        (dict(head_selection="max"), "head_selection"),
        (dict(head_selection=1.5), "head_selection"),
        (dict(space="linear"), "space"),
        (dict(end_of_memory="wrap"), "end_of_memory"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.StepwiseMonotonicMultiHeadAttention(**kwargs)


def test_bad_call_arguments():
    layer = make_layer()
    query, key = inputs()
    with pytest.raises(ValueError, match="same length"):
        layer(query, key, key[:, :4])
    with pytest.raises(ValueError, match="key_mask must have shape"):
        layer(query, key, key_mask=np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="query_mask must have shape"):
        layer(query, key, query_mask=np.ones((2, 9, 1), bool))
    with pytest.raises(ValueError, match="initial_alignment must have shape"):
        layer(query, key, initial_alignment=np.ones((2, 7), np.float32))
    with pytest.raises(ValueError, match="previous_alignment must have shape"):
        layer.step(query[:, 0], layer.project_memory(key), np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"\[B, Dq\]"):
        layer.step(query, layer.project_memory(key))
    with pytest.raises(ValueError, match=r"\[batch, time, features\]"):
        layers.StepwiseMonotonicMultiHeadAttention()(query[0], key)
