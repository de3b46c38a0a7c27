"""WaveNet vocoder: incremental == parallel, causality, crops, generation, training, errors."""

import json

import numpy as np
import pytest
import tensorflow as tf

from ttszoo.models import WaveNetVocoder, get_model_info

HOP, MELS = 4, 3


def tiny_wavenet(**overrides):
    settings = dict(
        hop_length=HOP,
        n_mels=MELS,
        residual_channels=4,
        gate_channels=6,
        skip_channels=5,
        kernel_size=2,
        num_layers=4,
        dilation_cycle=3,
        condition_channels=3,
        num_mixtures=2,
        segment_frames=3,
        sample_frames=2,
    )
    settings.update(overrides)
    return WaveNetVocoder(**settings)


def random_batch(frames=8, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "mel": tf.constant(rng.uniform(size=(batch, frames, MELS)).astype(np.float32)),
        "audio": tf.constant(rng.uniform(-0.5, 0.5, size=(batch, frames * HOP)).astype(np.float32)),
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"output_distribution": "gaussian", "num_mixtures": 1, "kernel_size": 3},
        {"num_speakers": 3, "speaker_channels": 2},
    ],
    ids=["logistic", "gaussian_k3", "speakers"],
)
def test_incremental_generation_reproduces_the_parallel_network(overrides):
    model = tiny_wavenet(**overrides)
    batch = random_batch()
    if model.num_speakers:
        batch["speaker"] = tf.constant([2, 0])
    parallel = model(batch).numpy()
    assert parallel.shape == (2, 8 * HOP, model.output_channels)
    incremental = model.incremental_outputs(batch["mel"], batch["audio"], batch.get("speaker"))
    np.testing.assert_allclose(incremental, parallel, atol=1e-5)


def test_outputs_depend_exactly_on_the_receptive_field_of_past_samples():
    model = tiny_wavenet()  # dilations 1, 2, 4, 1: receptive field 9 samples
    assert model.receptive_field == 9
    batch = random_batch(frames=10)
    base = model(batch).numpy()
    t = 25
    for source, should_change in [(t, False), (t + 3, False), (t - 1, True), (t - 9, True)]:
        audio = batch["audio"].numpy().copy()
        audio[:, source] += 0.5
        changed = model({"mel": batch["mel"], "audio": tf.constant(audio)}).numpy()
        moved = np.abs(changed[:, t] - base[:, t]).max() > 1e-6
        assert moved == should_change, (source, moved)
    audio = batch["audio"].numpy().copy()
    audio[:, : t - 9] += 0.5  # everything older than the receptive field
    changed = model({"mel": batch["mel"], "audio": tf.constant(audio)}).numpy()
    np.testing.assert_allclose(changed[:, t:], base[:, t:], atol=1e-6)


def logistic_mixture_nll(params, targets, num_classes, log_scale_min):
    """Independent numpy NLL of a discretized logistic mixture (interior bins, float64)."""
    params = params.astype(np.float64)
    m = params.shape[-1] // 3
    logits, means, log_scales = params[..., :m], params[..., m : 2 * m], params[..., 2 * m :]
    scales = np.exp(np.maximum(log_scales, log_scale_min))
    h = 1.0 / (num_classes - 1)
    y = targets[..., None]

    def cdf(x):
        return 1.0 / (1.0 + np.exp(-(x - means) / scales))

    mass = cdf(y + h) - cdf(y - h)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return -np.log((weights * mass).sum(-1))


@pytest.mark.parametrize("mel_length", [3, 10, 12])
def test_cropped_segment_loss_equals_the_full_utterance_likelihood(mel_length):
    """The centre crop plus its context gives the full pass's outputs on the segment."""
    model = tiny_wavenet(num_classes=256)
    batch = random_batch(frames=12, batch=1)
    batch["mel_length"] = tf.constant([mel_length])
    batch["audio_length"] = tf.constant([mel_length * HOP])
    losses = model.compute_losses(batch, training=False)
    params = model(batch).numpy()
    start = max(mel_length - model.segment_frames, 0) // 2
    end = min(start + model.segment_frames, mel_length)
    segment = slice(start * HOP, end * HOP)
    expected = logistic_mixture_nll(
        params[0, segment], batch["audio"].numpy()[0, segment], 256, model.log_scale_min
    ).mean()
    np.testing.assert_allclose(float(losses["loss"]), expected, rtol=1e-4)
    np.testing.assert_allclose(float(losses["bits_per_sample"]), expected / np.log(2), rtol=1e-4)


def test_continuous_gaussian_head_gives_a_density_that_can_be_negative():
    model = tiny_wavenet(output_distribution="continuous_gaussian", num_mixtures=1)
    batch = random_batch(frames=12, batch=1)
    params = model(batch).numpy()[0]
    losses = model.compute_losses(batch, training=False)
    start = (12 - model.segment_frames) // 2
    segment = slice(start * HOP, (start + model.segment_frames) * HOP)
    mean, log_scale = params[segment, 0], np.maximum(params[segment, 1], model.log_scale_min)
    y = batch["audio"].numpy()[0, segment]
    expected = np.mean(
        0.5 * np.log(2 * np.pi) + log_scale + 0.5 * ((y - mean) / np.exp(log_scale)) ** 2
    )
    np.testing.assert_allclose(float(losses["loss"]), expected, rtol=1e-4)
    # A sharp density: the NLL goes below zero, as documented.
    sharp = model.distribution(tf.constant([[0.0, -5.0]]))
    assert float(-sharp.log_prob(0.0)[0]) < 0


def test_vocode_is_batched_seeded_and_in_range():
    model = tiny_wavenet()
    mel = random_batch(frames=5, batch=3)["mel"]
    audio = model.vocode(mel)["audio"].numpy()  # seed 0
    assert audio.shape == (3, 5 * HOP)
    assert np.all(np.abs(audio) <= 1.0) and np.isfinite(audio).all()
    np.testing.assert_array_equal(model.generate(mel, seed=7), model.generate(mel, seed=7))
    assert np.abs(model.generate(mel, seed=7) - model.generate(mel, seed=8)).max() > 0
    # Inside a graph with an unknown number of frames, as an exported SavedModel traces it.
    spec = tf.TensorSpec([None, None, MELS])
    traced = tf.function(lambda mel: model.vocode(mel)["audio"], input_signature=[spec])
    np.testing.assert_array_equal(traced(mel), audio)


def test_mixed_bfloat16_model_keeps_the_likelihood_in_float32():
    model = tiny_wavenet(dtype="mixed_bfloat16")
    batch = random_batch(frames=8)
    params = model(batch)
    assert params.dtype == tf.float32
    assert model.blocks[0].convolution.compute_dtype == "bfloat16"
    with tf.GradientTape() as tape:
        losses = model.compute_losses(batch, training=True)
    gradients = tape.gradient(losses["loss"], model.trainable_variables)
    assert losses["loss"].dtype == tf.float32 and np.isfinite(losses["loss"].numpy())
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in gradients)


def test_model_config_round_trips_and_is_registered():
    model = tiny_wavenet(output_distribution="gaussian", num_mixtures=3)
    clone = WaveNetVocoder.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.output_channels == 9
    assert get_model_info("wavenet").cls is WaveNetVocoder
    assert get_model_info("wavenet").family == "vocoder"


def test_bad_inputs_raise_clear_errors():
    model = tiny_wavenet()
    batch = random_batch()
    with pytest.raises(ValueError, match="n_mels=3"):
        model.vocode(tf.zeros([1, 4, 80]))
    with pytest.raises(ValueError, match="hop_length=4"):
        model.compute_losses({"mel": batch["mel"], "audio": batch["audio"][:, :-1]})
    with pytest.raises(ValueError, match=r"audio must be \[B, S\]"):
        model({"mel": batch["mel"], "audio": batch["audio"][..., None]})
    with pytest.raises(ValueError, match="num_speakers=0"):
        model.vocode(batch["mel"], speaker=tf.constant([0, 1]))
    with pytest.raises(ValueError, match="give `speaker`"):
        tiny_wavenet(num_speakers=2).compute_losses(batch)
    with pytest.raises(ValueError, match="output_distribution must be one of"):
        tiny_wavenet(output_distribution="mulaw")
    with pytest.raises(ValueError, match="segment_frames must be a positive int"):
        tiny_wavenet(segment_frames=0)


def test_tiny_wavenet_trains_through_the_gin_trainer_on_the_demo_corpus(demo_records_dir, tmp_path):
    """Recipe, records, XLA step, mixed_bfloat16, validation, samples and checkpoints."""
    from ttszoo.training import parse_gin, train

    audio_config = json.loads((demo_records_dir / "features.json").read_text())["audio_config"]
    params = [
        f"RECORDS_DIR = '{demo_records_dir}'",
        f"HOP_LENGTH = {audio_config['hop_length']}",
        f"N_MELS = {audio_config['n_mels']}",
        "BATCH_SIZE = 2",
        "SEGMENT_FRAMES = 2",
        "WaveNetVocoder.residual_channels = 4",
        "WaveNetVocoder.gate_channels = 4",
        "WaveNetVocoder.skip_channels = 4",
        "WaveNetVocoder.condition_channels = 4",
        "WaveNetVocoder.num_layers = 3",
        "WaveNetVocoder.sample_frames = 2",
        "ttszoo.data.make_dataset.num_buckets = 1",
        "train.steps = 6",
        "train.log_every = 3",
        "train.validate_every = 6",
        "train.validation_steps = 1",
        "train.checkpoint_every = 6",
        "train.sample_every = 6",
        "train.verbose = False",
        "train.precision = 'mixed_bfloat16'",
    ]
    parse_gin(["recipes/wavenet/demo.gin"], params)
    logs = train(model_dir=str(tmp_path / "wavenet"))
    assert logs["step"] == 6
    assert np.isfinite(logs["loss"]) and np.isfinite(logs["val_loss"])
    assert 0 < logs["val_bits_per_sample"] < 17
    assert list((tmp_path / "wavenet" / "samples").glob("step-*6/generated.wav"))
    assert list((tmp_path / "wavenet" / "checkpoints").glob("ckpt-*6.complete"))
