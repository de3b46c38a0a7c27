"""Transformer TTS: losses, cached decoding against teacher forcing, synthesis, bad input, config."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers import guided_attention_weights
from ttszoo.models import get_model_info
from ttszoo.models.transformer_tts.model import TransformerTTS, stop_labels, stop_loss

N_MELS, VOCAB = 6, 20
TINY = dict(
    vocab_size=VOCAB,
    n_mels=N_MELS,
    embedding_dim=8,
    model_dim=8,
    encoder_prenet_layers=1,
    encoder_prenet_kernel=3,
    encoder_layers=1,
    encoder_heads=2,
    decoder_layers=2,
    decoder_heads=2,
    key_dim=4,
    feed_forward_dim=16,
    decoder_prenet_dim=8,
    postnet_channels=8,
    postnet_layers=2,
    postnet_kernel=3,
    max_r=4,
    sma_layers=[1],
)


def tiny_model(**overrides):
    return TransformerTTS(**{**TINY, **overrides})


def tiny_batch(batch=2, symbols=7, frames=12, seed=0):
    rng = np.random.default_rng(seed)
    text = rng.integers(2, VOCAB, size=(batch, symbols)).astype(np.int32)
    text_length = np.array([symbols, symbols - 2][:batch], np.int32)
    text = np.where(np.arange(symbols) < text_length[:, None], text, 0).astype(np.int32)
    mel_length = np.array([frames, frames - 3][:batch], np.int32)
    mel = rng.random((batch, frames, N_MELS)).astype(np.float32)
    mel *= (np.arange(frames) < mel_length[:, None])[:, :, None]
    return {"text": text, "text_length": text_length, "mel": mel, "mel_length": mel_length}


def test_registered_as_acoustic_model():
    info = get_model_info("transformer_tts")
    assert info.cls is TransformerTTS and info.family == "acoustic"


def test_stop_labels_and_weighted_stop_loss_known_answer():
    # Labels [1, 1, 2, 0] with scaling 8 get weights [1, 1, 8, 0] (docs/references.md,
    # Transformer TTS).
    labels = stop_labels(tf.constant([3]), 4)
    np.testing.assert_array_equal(labels.numpy(), [[1, 1, 2, 0]])
    logits = np.random.default_rng(0).normal(size=(1, 4, 3)).astype(np.float32)
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    entropy = -log_softmax[0, np.arange(4), [1, 1, 2, 0]]
    expected = (entropy * np.array([1, 1, 8, 0])).sum() / 3
    np.testing.assert_allclose(stop_loss(logits, labels, 8.0).numpy(), expected, rtol=1e-6)


def test_guided_attention_weights_known_answer():
    # As the model uses it: [B, symbols, steps] transposed to steps first.
    weights, _ = guided_attention_weights(tf.constant([4]), tf.constant([3]), 5, 4, 0.2)
    weights = tf.transpose(weights, [0, 2, 1]).numpy()[0]
    expected = np.zeros((4, 5))
    for t in range(3):
        for n in range(4):
            expected[t, n] = 1 - math.exp(-((n / 4 - t / 3) ** 2) / (2 * 0.2**2))
    np.testing.assert_allclose(weights, expected, atol=1e-6)


def test_losses_are_finite_scalars_and_padding_does_not_matter():
    model = tiny_model()
    batch = tiny_batch()
    losses = model.compute_losses(batch)
    assert {"loss", "mel_l1", "mel_before_l1", "stop", "diagonal"} <= set(losses)
    assert all(value.shape == () and np.isfinite(value.numpy()) for value in losses.values())
    # Garbage in the padded frames must not change any loss.
    padding = (np.arange(12) >= 9)[None, :, None] * np.array([0, 1])[:, None, None]
    noisy = dict(batch, mel=batch["mel"] + 5.0 * padding.astype(np.float32))
    np.testing.assert_allclose(
        model.compute_losses(noisy)["loss"].numpy(), losses["loss"].numpy(), rtol=1e-6
    )


def test_reduction_factor_changes_outputs_not_weights():
    model = tiny_model()
    batch = tiny_batch()
    model.compute_losses(batch)
    count = model.count_params()
    for r in (4, 3, 2, 1):
        model.reduction_factor = r
        outputs = model(batch)
        assert outputs["mel"].shape == (2, 12, N_MELS)
        assert outputs["alignments"][0].shape == (2, math.ceil(12 / r), 7)
        assert model.count_params() == count
        assert model.trace_constants()["reduction_factor"] == r
    with pytest.raises(ValueError, match="1 <= r <= max_r=4"):
        model.reduction_factor = 5


def _incremental(model, batch, hard=False):
    """Runs ``decoder_step`` over the teacher-forcing inputs, one step at a time."""
    r = model.reduction_factor
    memory, memory_mask = model.encode(tf.constant(batch["text"]))
    go = np.full((2, 1, N_MELS), model.go_value, np.float32)
    inputs = np.concatenate([go, batch["mel"][:, :-1]], axis=1)[:, ::r]
    state = model.initial_decoder_state(memory, memory_mask, inputs.shape[1])
    frames, stops, alignments = [], [], []
    for index in range(inputs.shape[1]):
        step_frames, step_stops, step_alignments, state = model.decoder_step(
            tf.constant(inputs[:, index]), tf.constant(index), state, memory_mask, hard=hard
        )
        frames.append(step_frames.numpy())
        stops.append(step_stops.numpy())
        alignments.append(np.stack([a.numpy() for a in step_alignments]))
    return (
        np.concatenate(frames, axis=1),
        np.concatenate(stops, axis=1),
        np.stack(alignments, axis=2),  # [layers, B, steps, N]
    )


def with_silence(batch):
    """``batch`` with silent frames (all zero) at frames 2-6 and 9 of every row."""
    silent = np.isin(np.arange(batch["mel"].shape[1]), [2, 3, 4, 5, 6, 9])
    return dict(batch, mel=np.where(silent[None, :, None], 0.0, batch["mel"]).astype(np.float32))


def with_random_clock(model, batch):
    """Builds ``model`` on ``batch`` and draws its silence clock's vectors from N(0, 1)."""
    model(batch)
    increments = model.silence_clock.increments
    increments.assign(np.random.default_rng(1).normal(size=increments.shape).astype(np.float32))
    return model


@pytest.mark.parametrize("monotonic, r, clock", [(False, 3, 0), (True, 1, 0), (True, 2, 4)])
def test_cached_incremental_decoding_equals_teacher_forcing(monotonic, r, clock):
    model = tiny_model(
        initial_monotonic=monotonic, initial_reduction_factor=r, silence_clock_frames=clock
    )
    batch = tiny_batch()
    if clock:
        batch = with_silence(batch)
        model = with_random_clock(model, batch)
    parallel = model(batch, training=False)
    frames, stops, alignments = _incremental(model, batch)
    steps = math.ceil(12 / r)
    assert alignments.shape == (2, 2, steps, 7)
    mel_before = parallel["mel_before"].numpy()
    for b, length in enumerate(batch["mel_length"]):
        np.testing.assert_allclose(frames[b, :length], mel_before[b, :length], atol=2e-5)
        np.testing.assert_allclose(
            stops[b, :length], parallel["stop_logits"].numpy()[b, :length], atol=2e-5
        )
        valid_steps = math.ceil(length / r)
        for layer in range(2):
            np.testing.assert_allclose(
                alignments[layer, b, :valid_steps],
                parallel["alignments"][layer].numpy()[b, :valid_steps],
                atol=2e-5,
            )
    if monotonic:
        # The stepwise monotonic alignment of the SMA layer keeps its mass on the real symbols.
        np.testing.assert_allclose(alignments[1].sum(-1), 1.0, atol=1e-5)


def test_hard_monotonic_decoding_is_one_hot_and_moves_at_most_one_symbol():
    model = tiny_model(initial_monotonic=True, initial_reduction_factor=2)
    model(tiny_batch())
    _, _, alignments = _incremental(model, tiny_batch(), hard=True)
    sma = alignments[1]
    assert set(np.unique(sma)) <= {0.0, 1.0}
    np.testing.assert_array_equal(sma.sum(-1), 1.0)
    moves = np.diff(np.concatenate([np.zeros((2, 1)), sma.argmax(-1)], axis=1), axis=1)
    assert set(np.unique(moves)) <= {0, 1}


def _force_stop_class(model, winner):
    """Sets the stop projection so that class ``winner`` always wins."""
    bias = np.full((3 * model.max_r,), -20.0, np.float32)
    bias[winner::3] = 20.0
    model.stop_projection.kernel.assign(np.zeros_like(model.stop_projection.kernel.numpy()))
    model.stop_projection.bias.assign(bias)


@pytest.fixture(scope="module")
def synthesis_model():
    """One tiny SMA model (r = 2, limit 3 frames per symbol), traced once for the synthesis tests."""
    model = tiny_model(initial_monotonic=True, initial_reduction_factor=2, max_frames_per_symbol=3)
    model.compute_losses(tiny_batch())
    return model


def test_synthesis_shapes_and_stop_token(synthesis_model):
    text = tiny_batch()["text"]
    _force_stop_class(synthesis_model, 2)
    outputs = synthesis_model.synthesize(text)
    # The stop class wins on the first frame: every utterance ends after one frame.
    np.testing.assert_array_equal(outputs["mel_length"].numpy(), [1, 1])
    assert outputs["stopped"].numpy().all()
    assert outputs["mel"].shape == (2, 2, N_MELS)
    assert outputs["alignment"].shape == (2, 7, 2)
    assert outputs["step_alignment"].shape == (2, 7, 1)
    assert outputs["forced"].shape == (2, 1) and not outputs["forced"].numpy().any()
    np.testing.assert_array_equal(outputs["forced_steps"].numpy(), [0, 0])
    np.testing.assert_array_equal(outputs["mel"].numpy()[:, 1], 0.0)
    # The stop class' probability: about 1 on the frame that stopped, zero after the end.
    np.testing.assert_allclose(outputs["stop_probability"].numpy(), [[1, 0], [1, 0]], atol=1e-6)


@pytest.mark.parametrize("hard", [False, True])
def test_synthesis_always_ends_at_the_length_limit(synthesis_model, hard):
    synthesis_model.hard_inference = hard
    _force_stop_class(synthesis_model, 1)  # never stop
    outputs = synthesis_model.synthesize(tiny_batch()["text"])
    limit = 3 * 7  # max_frames_per_symbol * symbols of the longest row
    np.testing.assert_array_equal(outputs["mel_length"].numpy(), [limit, limit])
    assert not outputs["stopped"].numpy().any()
    assert outputs["mel"].shape == (2, math.ceil(limit / 2) * 2, N_MELS)
    alignment = outputs["step_alignment"].numpy()
    np.testing.assert_allclose(alignment[0].sum(0), 1.0, atol=1e-5)
    if hard:
        assert set(np.unique(alignment)) <= {0.0, 1.0}
    synthesis_model.hard_inference = False


def _free_running(model, text, noise_seed=None):
    """Stop probabilities [B, steps * r] of ``decoder_step`` fed its own last frame."""
    memory, memory_mask = model.encode(tf.constant(text))
    steps = math.ceil(model.max_frames_per_symbol * text.shape[1] / model.reduction_factor)
    state = model.initial_decoder_state(memory, memory_mask, steps)
    frame = tf.fill([text.shape[0], N_MELS], model.go_value)
    probabilities = []
    for index in range(steps):
        seed = None if noise_seed is None else tf.constant([noise_seed, index])
        frames, stops, _, state = model.decoder_step(
            frame, tf.constant(index), state, memory_mask, noise_seed=seed
        )
        probabilities.append(tf.nn.softmax(stops)[:, :, 2].numpy())
        frame = frames[:, -1]
    return np.concatenate(probabilities, axis=1)


def test_stop_probability_and_seeded_prenet_noise_in_synthesis():
    model = tiny_model(initial_monotonic=True, initial_reduction_factor=2, max_frames_per_symbol=3)
    text = tiny_batch()["text"]
    model.compute_losses(tiny_batch())
    # The stop class loses (so every row runs to the 21-frame limit) by an input-dependent margin.
    bias = np.tile(np.array([-20.0, 4.0, 0.0], np.float32), model.max_r)
    model.stop_projection.bias.assign(bias)
    plain = model.synthesize(text)
    expected = _free_running(model, text)  # 22 frames: 11 steps of 2
    np.testing.assert_allclose(
        plain["stop_probability"].numpy()[:, :21], expected[:, :21], atol=1e-5
    )
    np.testing.assert_array_equal(plain["stop_probability"].numpy()[:, 21], 0.0)  # past the limit
    assert expected.max() < 0.5 and expected.std() > 1e-3
    model.prenet_noise_seed = 5
    noisy = model.synthesize(text)
    np.testing.assert_array_equal(model.synthesize(text)["mel"].numpy(), noisy["mel"].numpy())
    np.testing.assert_allclose(
        noisy["stop_probability"].numpy()[:, :21], _free_running(model, text, 5)[:, :21], atol=1e-5
    )
    assert np.abs(noisy["mel"].numpy() - plain["mel"].numpy()).max() > 1e-3
    model.prenet_noise_seed = 6
    assert np.abs(model.synthesize(text)["mel"].numpy() - noisy["mel"].numpy()).max() > 1e-3
    model.prenet_noise_seed = None
    np.testing.assert_array_equal(model.synthesize(text)["mel"].numpy(), plain["mel"].numpy())
    for bad in ("5", 1.5, True):
        with pytest.raises(ValueError, match="prenet_noise_seed must be None"):
            model.prenet_noise_seed = bad


def test_encoder_stages_end_in_the_memory_that_encode_returns():
    model = tiny_model(encoder_layers=2)
    text = tf.constant(tiny_batch()["text"])
    stages, mask = model.encoder_stages(text)
    assert list(stages) == [
        "embedding",
        "prenet",
        "positions_added",
        "block_0",
        "block_1",
        "memory",
    ]
    memory, encode_mask = model.encode(text)
    np.testing.assert_array_equal(stages["memory"].numpy(), memory.numpy())
    np.testing.assert_array_equal(mask.numpy(), encode_mask.numpy())
    np.testing.assert_array_equal(stages["embedding"].numpy(), model.embedding(text).numpy())
    assert stages["block_1"].shape == (2, 7, 8)


@pytest.mark.parametrize(
    "text_ids, message",
    [
        (np.array([[3.0, 4.0]]), "integer symbol ids"),
        (np.array([3, 4], np.int32), r"\[batch, symbols\]"),
        (np.zeros((1, 0), np.int32), "empty"),
        (np.array([[3, VOCAB]], np.int32), r"\[0, 20\)"),
        (np.array([[3, -1]], np.int32), r"\[0, 20\)"),
        (np.array([[3, 4], [0, 0]], np.int32), r"Rows \[1\]"),
        (np.array([[3, 0, 4]], np.int32), "only at the end"),
    ],
)
def test_bad_text_ids_raise_clear_errors(text_ids, message):
    model = tiny_model()
    with pytest.raises(ValueError, match=message):
        model.synthesize(text_ids)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"sma_layers": [2]}, "sma_layers"),
        ({"model_dim": 7}, "even"),
        ({"max_r": 0}, "max_r"),
        ({"initial_reduction_factor": 5}, "max_r=4"),
        ({"silence_clock_frames": -1}, "silence_clock_frames"),
    ],
)
def test_bad_configs_raise_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_model(**overrides)


def test_config_round_trip_and_trained_decoding_state():
    model = tiny_model(initial_monotonic=True, sma_layers=[-1], silence_clock_frames=3)
    config = model.get_config()
    clone = TransformerTTS.from_config(config)
    assert clone.get_config() == config
    batch = tiny_batch()
    model.compute_losses(batch)
    clone.compute_losses(batch)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(batch)["mel"].numpy(), model(batch)["mel"].numpy(), atol=1e-6)
    # A training step records r and the SMA switch; a restored copy decodes with them.
    model.reduction_factor = 2
    model.compute_losses(batch, training=True)
    np.testing.assert_array_equal(model.trained_decoding_state.numpy(), [2, 1])
    clone.set_weights(model.get_weights())
    clone.monotonic = False
    clone.synthesize(batch["text"][:1])
    assert clone.reduction_factor == 2 and clone.monotonic


def test_mixed_bfloat16_losses_are_float32_and_close():
    clocked = dict(initial_monotonic=True, initial_reduction_factor=2, silence_clock_frames=4)
    model = tiny_model(dtype="mixed_bfloat16", **clocked)
    reference = tiny_model(**clocked)
    losses = model.compute_losses(tiny_batch())
    reference.compute_losses(tiny_batch())
    reference.set_weights(model.get_weights())
    assert losses["loss"].dtype == tf.float32 and np.isfinite(losses["loss"].numpy())
    expected = reference.compute_losses(tiny_batch())["loss"].numpy()
    np.testing.assert_allclose(losses["loss"].numpy(), expected, rtol=0.05)


def _sampling_model(rate, passes=1):
    """A model without dropout (its first pass is deterministic), compiled with an optimizer."""
    model = tiny_model(dropout=0.0, decoder_prenet_dropout=0.0, initial_reduction_factor=1)
    model.scheduled_sampling_rate = rate
    model.scheduled_sampling_passes = passes
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def test_scheduled_sampling_mixes_recorded_and_predicted_frames():
    batch = tiny_batch(frames=400)
    inputs = {key: batch[key] for key in ("text", "mel", "mel_length")}
    model = _sampling_model(0.25)
    predicted = model(inputs, training=True)["mel_before"].numpy()
    frames = model.scheduled_sampling_frames(inputs).numpy()
    from_prediction = np.all(frames == predicted, axis=-1)
    from_recording = np.all(frames == batch["mel"], axis=-1)
    assert np.all(from_prediction | from_recording)
    assert 0.2 < from_prediction.mean() < 0.3
    # The same step draws the same frames; the next step others.
    np.testing.assert_array_equal(model.scheduled_sampling_frames(inputs).numpy(), frames)
    model.optimizer.iterations.assign_add(1)
    assert not np.array_equal(model.scheduled_sampling_frames(inputs).numpy(), frames)


def test_each_scheduled_sampling_pass_reads_the_previous_one():
    batch = tiny_batch()
    inputs = {key: batch[key] for key in ("text", "mel", "mel_length")}
    model = _sampling_model(1.0, passes=3)
    first = model(inputs, training=True)["mel_before"]
    second = model({**inputs, "decoder_mel": first}, training=True)["mel_before"]
    third = model({**inputs, "decoder_mel": second}, training=True)["mel_before"].numpy()
    np.testing.assert_allclose(model.scheduled_sampling_frames(inputs).numpy(), third, atol=1e-6)
    assert not np.allclose(third, second.numpy(), atol=1e-4)


def test_scheduled_sampling_loss_reads_predictions_and_targets_the_recording():
    batch = tiny_batch()
    inputs = {key: batch[key] for key in ("text", "mel", "mel_length")}
    model = _sampling_model(1.0)
    predicted = model(inputs, training=True)["mel_before"]
    outputs = model({**inputs, "decoder_mel": predicted}, training=True)
    mask = np.arange(batch["mel"].shape[1]) < batch["mel_length"][:, None]
    expected = np.abs(outputs["mel"].numpy() - batch["mel"]).mean(-1)[mask].mean()
    losses = model.compute_losses(batch, training=True)
    np.testing.assert_allclose(losses["mel_l1"].numpy(), expected, rtol=1e-5)
    teacher_forced = model.compute_losses(batch, training=False)["mel_l1"].numpy()
    assert abs(teacher_forced - expected) > 1e-4
    uncompiled = tiny_model()
    uncompiled.scheduled_sampling_rate = 0.5
    with pytest.raises(ValueError, match="compile"):
        uncompiled.compute_losses(batch, training=True)


@pytest.mark.slow
def test_jit_compiled_training_step_with_sma_on():
    # About 30 s of XLA compilation on a free 2-core CPU (100 s under load): the layers'
    # own jit tests in test_transformer_tts_blocks.py run by default.
    model = tiny_model(initial_monotonic=True, initial_reduction_factor=2)
    model.diagonal_forcing = True
    batch = {key: tf.constant(value) for key, value in tiny_batch().items()}
    model.compute_losses(batch)
    optimizer = keras.optimizers.Adam(1e-2)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def train_step(batch):
        with tf.GradientTape() as tape:
            loss = model.compute_losses(batch, training=True)["loss"]
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss, gradients

    first, gradients = train_step(batch)
    assert all(np.isfinite(tf.convert_to_tensor(g).numpy()).all() for g in gradients)
    # The SMA score bias gets a gradient once the monotonic switch is on.
    names = [v.path for v in model.trainable_variables]
    bias = gradients[next(i for i, n in enumerate(names) if n.endswith("score_bias"))]
    assert float(tf.abs(bias)) > 0
    for _ in range(5):
        last, _ = train_step(batch)
    assert float(last) < float(first)


def test_checkpoint_restores_every_weight(tmp_path):
    model = tiny_model(initial_monotonic=True)
    model.compute_losses(tiny_batch())
    path = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    restored = tiny_model(initial_monotonic=True)
    restored.compute_losses(tiny_batch())
    tf.train.Checkpoint(model=restored).read(path).assert_existing_objects_matched()
    for saved, loaded in zip(model.weights, restored.weights, strict=True):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy(), err_msg=saved.path)
