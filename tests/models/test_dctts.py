"""DCTTS models: cached frame-by-frame decoding, stop rule, padding, bad input (small shapes)."""

import numpy as np
import pytest
import tensorflow as tf

from ttszoo.models import SSRN, Text2Mel
from ttszoo.models.dctts.inference import synthesize_autoregressively

N_MELS = 4


def small_text2mel(**kwargs):
    settings = dict(e=8, d=8, n_mels=N_MELS, dropout=0.0, groups=2, max_text_length=12)
    settings.update(kwargs)
    return Text2Mel(**settings)


def text_batch():
    return tf.constant([[5, 9, 12, 7, 3, 1], [8, 4, 1, 0, 0, 0]], tf.int32)


def training_batch():
    """A two-utterance batch with text, 12 mel frames and 9-bin linear frames."""
    return {
        "text": text_batch(),
        "text_length": tf.constant([6, 3]),
        "mel": frames(12),
        "mel_length": tf.constant([12, 8]),
        "mel_mask": tf.sequence_mask([12, 8], 12, tf.float32),
        "linear": tf.random.uniform([2, 12, 9], seed=1),
    }


def frames(steps=10, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(size=(2, steps, N_MELS)).astype(np.float32))


@pytest.mark.parametrize("position_rate", [0.0, 1.5])
def test_cached_step_decoder_reproduces_the_parallel_decoder(position_rate):
    model = small_text2mel(position_rate=position_rate)
    text, previous = text_batch(), frames()
    logits, alignment = model((text, previous))
    keys, values = model.text_encoder(text)

    @tf.function
    def decode_all():
        states = model.initial_decoder_state(2)
        step_logits = tf.TensorArray(tf.float32, size=previous.shape[1])
        attention = tf.TensorArray(tf.float32, size=previous.shape[1])
        for t in tf.range(previous.shape[1]):
            _, logits_t, probabilities, states = model.decode_step(
                previous[:, t][:, None], states, keys, values, text > 0
            )
            step_logits = step_logits.write(t, logits_t)
            attention = attention.write(t, probabilities)
        return step_logits.stack(), attention.stack()

    step_logits, attention = decode_all()
    np.testing.assert_allclose(np.swapaxes(step_logits, 0, 1), logits.numpy(), atol=1e-4)
    np.testing.assert_allclose(np.swapaxes(attention, 0, 1), alignment.numpy(), atol=1e-5)
    # Padded symbols get no attention.
    assert alignment.numpy()[1, :, 3:].max() < 1e-6


def test_position_prior_adds_the_weighted_cosine_sum_of_the_distance_to_the_scores():
    plain, prior = small_text2mel(), small_text2mel(position_rate=1.5)
    text, previous = text_batch(), frames(5)
    plain((text, previous))
    prior((text, previous))
    for block in ("text_encoder", "audio_encoder", "audio_decoder"):
        getattr(prior, block).set_weights(getattr(plain, block).get_weights())
    prior.position_weight.assign(2.0)
    queries = plain.audio_encoder(previous)
    keys, _ = plain.text_encoder(text)
    mask = text > 0
    difference = (
        prior.attention_scores(queries, keys, mask) - plain.attention_scores(queries, keys, mask)
    ).numpy()
    rates = 10000.0 ** (-2 * np.arange(4) / 8)  # d = 8: four frequencies
    distance = np.arange(5)[:, None] - 1.5 * np.arange(6)[None, :]
    expected = 2.0 * np.cos(distance[..., None] * rates).sum(-1) / np.sqrt(8)
    np.testing.assert_allclose(difference[0], expected, atol=1e-4)
    np.testing.assert_allclose(difference[1, :, :3], expected[:, :3], atol=1e-4)
    assert [w.name for w in prior.weights if "position" in w.name] == ["position_weight"]
    assert not [w for w in plain.weights if "position" in w.name]
    with pytest.raises(ValueError, match="position_rate"):
        small_text2mel(position_rate=-1.0)


def test_synthesis_feeds_back_its_own_frames():
    model = small_text2mel(attention_mode="none")
    text = text_batch()
    outputs = synthesize_autoregressively(model, text, max_steps=8, attention_mode="none")
    mel, lengths = outputs["reduced_mel"].numpy(), outputs["reduced_length"].numpy()
    previous = tf.pad(outputs["reduced_mel"][:, :-1], [[0, 0], [1, 0], [0, 0]])
    logits, alignment = model((text, previous))
    for b in range(2):
        frames_b = lengths[b]
        np.testing.assert_allclose(
            mel[b, :frames_b], tf.sigmoid(logits[b, :frames_b]).numpy(), atol=1e-5
        )
        np.testing.assert_allclose(
            outputs["alignment"].numpy()[b, :, :frames_b],
            alignment.numpy()[b, :frames_b].T,
            atol=1e-5,
        )
        assert (mel[b, frames_b:] == 0).all()


def test_text_encoding_does_not_depend_on_padding():
    model = small_text2mel()
    short = tf.constant([[8, 4, 1]], tf.int32)
    padded = tf.constant([[8, 4, 1, 0, 0, 0, 0, 0]], tf.int32)
    for unpadded, with_padding in zip(
        model.text_encoder(short), model.text_encoder(padded), strict=True
    ):
        np.testing.assert_allclose(with_padding.numpy()[:, :3], unpadded.numpy(), atol=1e-5)


class ScriptedAttention:
    """A stand-in for Text2Mel whose attention peak at step t is ``script(t)``."""

    n_mels = 2

    def __init__(self, script, symbols):
        self.script, self.symbols = script, symbols
        self.text_encoder = lambda ids: (tf.zeros([1, symbols, 2]), tf.zeros([1, symbols, 2]))

    def initial_decoder_state(self, batch_size):
        return tf.zeros([batch_size], tf.int32)

    def decode_step(self, frame, t, keys, values, text_mask, score_fn=None, attention_fn=None):
        # A peak at script(t), on a slight ramp so that a window keeps its farthest symbol.
        ramp = 0.1 * tf.range(self.symbols, dtype=tf.float32)
        scores = 10.0 * tf.one_hot(self.script(t), self.symbols) + ramp  # t: [1] -> [1, N]
        if score_fn is not None:
            scores = score_fn(scores)
        probabilities = tf.nn.softmax(scores)
        if attention_fn is not None:
            probabilities = attention_fn(probabilities)
        return None, tf.zeros([1, 2]), probabilities, t + 1


def run_script(script, symbols=5, max_steps=50, mode="paper"):
    model = ScriptedAttention(script, symbols)
    ids = tf.constant([[3] * (symbols - 1) + [1]], tf.int32)
    outputs = synthesize_autoregressively(model, ids, max_steps, attention_mode=mode)
    return outputs["alignment"].numpy()[0], int(outputs["reduced_length"][0])


def test_synthesis_stops_when_the_attention_reaches_the_last_symbol():
    alignment, length = run_script(lambda t: t // 2)  # one symbol every two frames
    assert length == 9 and alignment.shape == (5, 9)
    np.testing.assert_array_equal(alignment.argmax(0), [0, 0, 1, 1, 2, 2, 3, 3, 4])


def test_the_maximum_length_guards_an_attention_that_never_ends():
    alignment, length = run_script(lambda t: 0 * t, max_steps=13)
    assert length == 13 and (alignment.argmax(0) == 0).all()


def test_forcibly_incremental_attention_during_synthesis():
    # The scripted attention jumps to the end at once. The paper's rule (n_{-1} = -1) forces
    # n = 0, then n = 1 (moves of 5 and 4 > 3), then lets the move of 3 to the last symbol pass.
    alignment, length = run_script(lambda t: 4 + 0 * t)
    assert length == 3
    np.testing.assert_array_equal(alignment.argmax(0), [0, 1, 4])
    np.testing.assert_allclose(alignment[:, :2], np.eye(5)[:, :2])
    _, unconstrained = run_script(lambda t: 4 + 0 * t, mode="none")
    assert unconstrained == 1
    # dc_tts' window: at most two symbols ahead of the previous peak, starting at 0.
    alignment, _ = run_script(lambda t: 4 + 0 * t, mode="window")
    np.testing.assert_array_equal(alignment.argmax(0), [2, 4])


def test_synthesis_reports_the_stop_reason_and_the_forced_steps():
    ids = tf.constant([[3, 3, 3, 3, 1]], tf.int32)
    # Jumps to the end at once: steps 0 and 1 are forced, step 2 reaches the end (stop rule).
    outputs = synthesize_autoregressively(ScriptedAttention(lambda t: 4 + 0 * t, 5), ids, 50)
    assert bool(outputs["stopped"][0]) and int(outputs["forced_steps"][0]) == 2
    np.testing.assert_array_equal(outputs["forced"].numpy()[0], [True, True, False])
    # Stays on the first symbol: never forced, ended by the step guard.
    outputs = synthesize_autoregressively(ScriptedAttention(lambda t: 0 * t, 5), ids, 7)
    assert not bool(outputs["stopped"][0]) and int(outputs["forced_steps"][0]) == 0
    assert outputs["forced"].shape == (1, 7)


def test_synthesize_returns_full_rate_mel_and_refuses_bad_text():
    model = small_text2mel()
    outputs = model.synthesize(text_batch()[:1], max_steps=6)
    steps = outputs["reduced_mel"].shape[1]
    assert outputs["mel"].shape == (1, 4 * steps, N_MELS)
    np.testing.assert_allclose(outputs["mel"].numpy()[0, ::4], outputs["reduced_mel"].numpy()[0])
    assert int(outputs["mel_length"][0]) == 4 * int(outputs["reduced_length"][0]) <= 24
    with pytest.raises(ValueError, match="empty"):
        model.synthesize(tf.zeros([1, 0], tf.int32))
    with pytest.raises(ValueError, match="empty"):
        model.synthesize(tf.zeros([1, 4], tf.int32))
    with pytest.raises(ValueError, match="max_text_length=12"):
        model.synthesize(tf.fill([1, 13], 3))
    with pytest.raises(ValueError, match=r"\[0, 40\)"):
        model.synthesize(tf.constant([[3, 40, 1]]))
    with pytest.raises(ValueError, match=r"\[batch, symbols\]"):
        model.synthesize(tf.constant([3, 4, 1]))


def test_attention_forcing_can_be_switched_off_and_on_between_syntheses():
    model = small_text2mel()
    ids = text_batch()[:1]
    paper = model.synthesize(ids, max_steps=6)
    assert int(paper["forced_steps"][0]) > 0  # with the seeded weights the rule does force
    model.set_attention_forcing(False)
    assert model.attention_mode == "none"
    unforced = model.synthesize(ids, max_steps=6)
    assert int(unforced["forced_steps"][0]) == 0  # nothing may be forced without the rule
    model.set_attention_forcing(True)
    assert model.attention_mode == "paper"
    again = model.synthesize(ids, max_steps=6)
    np.testing.assert_array_equal(again["forced"].numpy(), paper["forced"].numpy())
    np.testing.assert_allclose(again["reduced_mel"].numpy(), paper["reduced_mel"].numpy())


def test_ssrn_upsamples_by_r_and_checks_its_input():
    ssrn = SSRN(n_mels=N_MELS, n_linear=9, c=8, dropout=0.0, groups=2)
    linear = ssrn.vocode(tf.zeros([1, 12, N_MELS]))["linear"]
    assert linear.shape == (1, 12, 9)
    assert 0.0 < float(tf.reduce_min(linear)) and float(tf.reduce_max(linear)) < 1.0
    with pytest.raises(ValueError, match="frame_multiple=4"):
        ssrn.vocode(tf.zeros([1, 10, N_MELS]))
    with pytest.raises(ValueError, match="SSRN.n_mels = 5"):
        ssrn.vocode(tf.zeros([1, 12, 5]))
    with pytest.raises(ValueError, match="power of two"):
        SSRN(reduction_factor=3)(tf.zeros([1, 3, 80]))


def test_text2mel_checks_the_batch_and_its_settings():
    model = small_text2mel()
    batch = {
        "text": text_batch(),
        "text_length": tf.constant([6, 3]),
        "mel": tf.zeros([2, 12, 5]),
        "mel_length": tf.constant([12, 8]),
    }
    with pytest.raises(ValueError, match="Text2Mel.n_mels = 5"):
        model.compute_losses(batch)
    with pytest.raises(ValueError, match="attention_mode"):
        Text2Mel(attention_mode="greedy")
    with pytest.raises(ValueError, match="norm"):
        Text2Mel(norm="instance")


def test_config_round_trip_builds_the_same_model():
    model = small_text2mel(separable=True, highway_activation="relu", position_rate=1.1)
    clone = Text2Mel.from_config(model.get_config())
    text, previous = text_batch(), frames(4)
    model((text, previous))
    clone((text, previous))
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert clone.get_config() == model.get_config()


def test_sample_draws_teacher_forced_and_synthesized_pictures_inside_a_tf_function():
    model = small_text2mel(max_decoder_steps=5)
    batch = {
        "text": text_batch(),
        "text_length": tf.constant([6, 3]),
        "mel": frames(12),
        "mel_length": tf.constant([12, 8]),
    }
    images = tf.function(model.sample)(batch)["images"]
    assert images["alignment_teacher_forced"].shape == (6, 3)
    assert images["mel_target"].shape == (N_MELS, 3)
    assert images["alignment_synthesized"].shape[0] == 6
    assert 1 <= images["mel_synthesized"].shape[1] <= 5


def test_losses_and_gradients_under_mixed_bfloat16():
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        text2mel = small_text2mel(position_rate=1.5)
        ssrn = SSRN(n_mels=N_MELS, n_linear=9, c=8, groups=2)
        batch = training_batch()
        for model in (text2mel, ssrn):
            with tf.GradientTape() as tape:
                losses = model.compute_losses(batch, training=True)
            assert all(value.dtype == tf.float32 for value in losses.values())
            gradients = tape.gradient(losses["loss"], model.trainable_variables)
            assert all(np.isfinite(tf.convert_to_tensor(g).numpy()).all() for g in gradients)
        assert text2mel.text_encoder.stack[0].compute_dtype == "bfloat16"
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize(
    "model_fn",
    [
        small_text2mel,
        lambda: small_text2mel(position_rate=1.2),
        lambda: SSRN(n_mels=N_MELS, n_linear=9, c=8, groups=2),
    ],
)
def test_every_weight_is_restored_from_a_training_checkpoint(model_fn, tmp_path):
    import keras

    batch = training_batch()
    model, optimizer = model_fn(), keras.optimizers.Adam(0.1)
    with tf.GradientTape() as tape:
        loss = model.compute_losses(batch, training=True)["loss"]
    optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    # As the trainer writes them: the optimizer also references every trainable variable.
    prefix = tf.train.Checkpoint(model=model, optimizer=optimizer).write(str(tmp_path / "ckpt"))
    restored = model_fn()
    restored.compute_losses(batch)
    tf.train.Checkpoint(model=restored).read(
        prefix
    ).expect_partial().assert_existing_objects_matched()
    assert len(restored.weights) == len(model.weights) == len({id(w) for w in model.weights})
    for original, loaded in zip(model.weights, restored.weights, strict=True):
        np.testing.assert_array_equal(loaded.numpy(), original.numpy(), err_msg=original.path)


def test_previous_frame_dropout_acts_on_the_audio_input_in_training_only():
    model = small_text2mel(previous_frame_dropout=0.5)
    text = text_batch()
    frames = tf.random.stateless_uniform([text.shape[0], 8, N_MELS], seed=[1, 2])
    # Without training the input is untouched: the same as a model with no frame dropout.
    logits = model((text, frames))[0].numpy()
    plain = small_text2mel()
    plain((text, frames))
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(logits, plain((text, frames))[0].numpy(), atol=1e-6)
    # In training the queries see frames with about half their values zeroed, the rest
    # scaled by 1 / (1 - 0.5).
    many = tf.random.stateless_uniform([4, 500, N_MELS], seed=[3, 4]) + 0.1
    dropped = model.frame_dropout(many, training=True).numpy()
    zeroed = np.mean(dropped == 0)
    assert 0.45 < zeroed < 0.55  # 2000 * N_MELS values: the share is 0.5 +- 0.01
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], 2 * many.numpy()[kept], rtol=1e-6)
    with pytest.raises(ValueError, match="previous_frame_dropout"):
        small_text2mel(previous_frame_dropout=1.0)
