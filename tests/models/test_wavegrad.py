"""WaveGrad: structure, hop checks, training through the gin trainer, vocoding, chunk seams,
schedule search and the Synthesizer, on a tiny configuration of the real model."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo import cli
from ttszoo.diffusion import DiffusionSampler, NoiseSchedule
from ttszoo.models import ModelInfo, WaveGrad
from ttszoo.models.wavegrad.model import crossfade_weights, sample_in_chunks

# Two blocks reach the 16 kHz hop of 200 = 20 * 10 and keep every compilation short.
TINY = {
    "upsample_factors": (20, 10),
    "upsample_channels": (16, 8),
    "upsample_dilations": ((1, 2, 1, 2), (1, 2, 4, 8)),
    "downsample_channels": (8, 16),
    "mel_channels": 16,
    "segment_frames": 8,
}
TINY_GIN = [
    "WaveGrad.upsample_factors = (20, 10)",
    "WaveGrad.upsample_channels = (16, 8)",
    "WaveGrad.upsample_dilations = ((1, 2, 1, 2), (1, 2, 4, 8))",
    "WaveGrad.downsample_channels = (8, 16)",
    "WaveGrad.mel_channels = 16",
    "WaveGrad.chunk_frames = 32",
    "WaveGrad.overlap_frames = 4",
    "SAMPLE_RATE = 16000",
    "HOP_LENGTH = 200",
    "SEGMENT_FRAMES = 8",
    "BATCH_SIZE = 2",
    "LEARNING_RATE = 3e-3",
    "train.steps = 40",
    "train.steps_per_execution = 5",
    "train.log_every = 5",
    "train.checkpoint_every = 40",
    "train.validate_every = 40",
    "train.sample_every = 40",
    "train.verbose = False",
    # Compiling this step with XLA takes ~20 s on the shared CPU; the XLA step is tested below.
    "train.jit_compile = False",
]


def _tiny(**overrides):
    return WaveGrad(**dict(TINY, **overrides))


@pytest.fixture(scope="module")
def trained_tiny(wavegrad_records_dir, tmp_path_factory):
    """The tiny WaveGrad trained 40 steps by the real trainer from the demo recipe."""
    from ttszoo.training import parse_gin, train

    model_dir = tmp_path_factory.mktemp("wavegrad_tiny")
    losses = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda step, logs: losses.append(logs["loss"])
    )
    parse_gin(["recipes/wavegrad/demo.gin"], TINY_GIN)
    logs = train(
        model_dir=str(model_dir), records_dir=str(wavegrad_records_dir), callbacks=[record]
    )
    return model_dir, losses, logs


def test_base_has_the_published_parameter_count():
    model = WaveGrad()
    model(tf.zeros([1, 600]), tf.zeros([1, 2, 80]), tf.zeros([1]))
    # ivanvovk/WaveGrad's Base (80 mel bands) has 15,810,401 parameters (docs/references.md,
    # WaveGrad).
    assert model.count_params() == 15_810_401
    assert model.hop_length == 300


def test_factors_that_miss_the_hop_are_a_clear_error(demo_records_dir):
    with pytest.raises(ValueError, match=r"multiply to 300, but the hop length is 276"):
        WaveGrad(hop_length=276)
    from ttszoo.data import make_dataset

    batch = next(iter(make_dataset(demo_records_dir, batch_size=2, features=("mel", "audio"))))
    with pytest.raises(ValueError, match=r"hop of 276.*multiply to 200"):
        _tiny().compute_losses(batch)
    with pytest.raises(ValueError, match="one entry per UBlock"):
        WaveGrad(upsample_factors=(5, 5, 3, 4))


def test_output_shapes_for_16k_and_22k_factors():
    for factors, hop in (((5, 5, 2, 2, 2), 200), ((5, 5, 3, 2, 2), 300), ((4, 4, 4, 2, 2), 256)):
        model = WaveGrad(
            upsample_factors=factors,
            upsample_channels=(8,) * 5,
            downsample_channels=(4,) * 5,
            mel_channels=8,
            hop_length=hop,
        )
        eps = model(tf.zeros([2, 3 * hop]), tf.zeros([2, 3, 80]), tf.constant([0.3, 0.9]))
        assert eps.shape == (2, 3 * hop)


def test_random_segments_are_aligned_crops_inside_the_utterance():
    model = _tiny(segment_frames=4)
    frames, hop = 10, model.hop_length
    # Frame t of the mel is t everywhere; audio samples of frame t are t as well.
    mel = tf.tile(tf.range(frames, dtype=tf.float32)[None, :, None], [3, 1, 2])
    audio = tf.repeat(tf.range(frames, dtype=tf.float32), hop)[None].numpy().repeat(3, 0)
    lengths = tf.constant([10, 6, 3])
    for _ in range(5):
        crop_mel, crop_audio = model.random_segments(
            {"mel": mel, "audio": tf.constant(audio), "mel_length": lengths}
        )
        assert crop_mel.shape == (3, 4, 2) and crop_audio.shape == (3, 4 * hop)
        starts = crop_mel[:, 0, 0].numpy()
        np.testing.assert_array_equal(crop_mel[:, :, 0], starts[:, None] + np.arange(4))
        np.testing.assert_array_equal(crop_audio, np.repeat(crop_mel[:, :, 0], hop, axis=1))
        assert starts[0] <= 6 and starts[1] <= 2 and starts[2] == 0


def test_tiny_wavegrad_learns_through_the_trainer(trained_tiny):
    model_dir, losses, logs = trained_tiny
    assert logs["step"] == 40 and np.isfinite(logs["val_loss"])
    # The noise L1 starts near E|eps| = 0.8 and falls as the net learns to pass y through.
    assert losses[-1] < 0.8 * losses[0], losses
    assert (model_dir / "samples" / f"step-{40:09d}" / "vocoded.wav").exists()


def test_loaded_model_vocodes_batches_in_range(trained_tiny):
    from ttszoo.training.loading import load_trained_model

    trained = load_trained_model(trained_tiny[0])
    assert trained.info.name == "wavegrad" and trained.model.inference_schedule.num_steps == 6
    mel = tf.random.uniform([3, 12, 80], seed=1)
    audio = trained.model.vocode(mel)["audio"]
    assert audio.shape == (3, 12 * 200) and audio.dtype == tf.float32
    assert np.all(np.abs(audio) <= 1.0) and np.all(np.isfinite(audio))
    # The same seed gives the same audio; another seed other audio.
    np.testing.assert_array_equal(audio, trained.model.vocode(mel)["audio"])
    assert not np.allclose(audio, trained.model.vocode(mel, seed=1)["audio"])
    with pytest.raises(ValueError, match="built for 80 mel bands, got a mel with 20"):
        trained.model.vocode(mel[..., :20])


def test_crossfade_weights_sum_to_one_across_a_seam():
    weights = crossfade_weights(40, 8).numpy()
    assert np.all(weights[:4] == 0) and np.all(weights[-4:] == 0) and weights[20] == 1
    stride = 40 - 16  # neighbours share 2 * context samples
    overlap = weights[stride:] + weights[: 40 - stride]
    np.testing.assert_allclose(overlap[4:-4], 1.0, atol=1e-6)


def _smoothing_oracle(radius):
    """A 'denoiser' that knows the clean audio: the conditioning frames [B, T, hop] smoothed by a
    moving average with zero padding, so its estimate is wrong near the edge of its input."""
    kernel = tf.ones([2 * radius + 1, 1, 1]) / (2 * radius + 1)

    def denoise(y, conditioning, level):
        clean = tf.reshape(conditioning, [tf.shape(y)[0], -1, 1])
        clean = tf.nn.conv1d(clean, kernel, 1, "SAME")[..., 0]
        level = level[:, tf.newaxis]
        return (y - level * clean) / tf.sqrt(1.0 - level**2)

    return denoise


def test_chunked_sampling_equals_whole_sampling_away_from_padding():
    hop, frames, radius = 8, 50, 3
    t = np.arange(frames * hop)
    clean = (0.5 * np.sin(2 * np.pi * t / 37.0) * np.cos(t / 90.0)).astype(np.float32)
    conditioning = tf.constant(clean.reshape(1, frames, hop))
    sampler = DiffusionSampler(_smoothing_oracle(radius), NoiseSchedule.inference(6), clip=None)
    whole = sampler.sample(conditioning, frames * hop, seed=3).numpy()
    chunked = sample_in_chunks(sampler, conditioning, hop, 12, 2, seed=5).numpy()
    assert chunked.shape == whole.shape == (1, frames * hop)
    # The oracle's last step returns its smoothed estimate exactly, whatever the noise: chunks
    # with 2 frames of context agree with one pass everywhere.
    np.testing.assert_allclose(chunked, whole, atol=5e-4)  # float32 roundoff / sqrt(1 - l^2)
    # Without context, the zero padding at every chunk edge shows at the seams.
    seamed = sample_in_chunks(sampler, conditioning, hop, 12, 0, seed=5).numpy()
    assert np.abs(seamed - whole).max() > 1e-2


def test_no_discontinuity_at_chunk_borders_beyond_the_model_noise(trained_tiny):
    from ttszoo.training.loading import load_trained_model

    model = load_trained_model(trained_tiny[0]).model
    hop, frames = model.hop_length, 80
    mel = tf.random.stateless_uniform([1, frames, 80], seed=[1, 2])
    whole = model.vocode(mel, seed=0, schedule=None)["audio"].numpy()[0]
    model.chunk_frames = 16
    chunked = model.vocode(mel, seed=0)["audio"].numpy()[0]
    assert chunked.shape == whole.shape == (frames * hop,)
    # Sample-to-sample steps at the seams (chunk_frames * hop) against the steps of one pass.
    seams = np.arange(16, frames, 16) * hop
    seam_steps = np.abs(chunked[seams] - chunked[seams - 1])
    whole_steps = np.abs(np.diff(whole))
    assert seam_steps.max() <= np.quantile(whole_steps, 0.999)


def test_schedule_search_command_saves_the_best_schedule(
    trained_tiny, wavegrad_records_dir, capsys
):
    from ttszoo.training.loading import load_trained_model

    model_dir = trained_tiny[0]
    argv = ["ttszoo", "schedule-search", f"--model_dir={model_dir}", "--iterations=6"]
    argv += ["--max_candidates=5", "--utterances=2"]
    # Without run.json (where train() saves its records folder) the records are unknown.
    run_file = model_dir / "run.json"
    saved = run_file.read_text()
    run_file.unlink()
    assert cli.main(argv) == 1
    assert "give --records_dir" in capsys.readouterr().err
    run_file.write_text(saved)
    assert json.loads(saved)["records_dir"] == os.path.abspath(wavegrad_records_dir)
    assert cli.main([*argv, "--max_frames=24"]) == 0  # the records of run.json
    printed = capsys.readouterr()
    assert "Best of 6 schedules" in printed.out and "schedules:" in printed.err  # progress bar
    record = json.loads((model_dir / "noise_schedules" / "searched-6.json").read_text())
    assert len(record["betas"]) == 6 and record["candidates"] == 6
    assert record["score"] <= record["named_schedule_score"]
    assert record["utterances"] == 2 and record["frames"] == 24
    loaded = load_trained_model(model_dir).model
    np.testing.assert_allclose(loaded.inference_schedule.betas, record["betas"])
    # A model that is not a diffusion vocoder is refused with a message.
    assert cli.main(["ttszoo", "schedule-search", "--model_dir", str(model_dir / "nope")]) == 1


def test_synthesizer_uses_wavegrad_as_the_vocoder(trained_tiny, wavegrad_records_dir):
    from ttszoo.synthesis import Synthesizer
    from ttszoo.training.loading import TrainedModel, load_trained_model

    vocoder = load_trained_model(trained_tiny[0])

    class ConstantMel:
        def synthesize(self, text_ids):
            return {"mel": tf.fill([tf.shape(text_ids)[0], 20, 80], 0.5)}

    acoustic = TrainedModel(
        model=ConstantMel(),
        info=ModelInfo("constant_mel", ConstantMel, "acoustic", "none", "a constant mel"),
        directory=vocoder.directory,
        step=0,
        audio_config=vocoder.audio_config,
        tokenizer_config=vocoder.tokenizer_config,
    )
    waveform, sample_rate = Synthesizer(acoustic, vocoder).synthesize("Hello there.")
    assert sample_rate == 16000 and waveform.shape == (20 * 200,)
    assert np.all(np.isfinite(waveform)) and np.abs(waveform).max() <= 1.0


def _batch():
    return {
        "mel": tf.random.uniform([2, 10, 80]),
        "audio": tf.random.uniform([2, 2000], -0.5, 0.5),
        "mel_length": tf.constant([10, 9]),
    }


def test_training_step_compiles_with_xla():
    model, batch = _tiny(), _batch()
    model.compute_losses(batch)
    optimizer = keras.optimizers.Adam(1e-3, global_clipnorm=1.0)
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=True)
    def step():
        with tf.GradientTape() as tape:
            loss = model.compute_losses(batch, training=True)["loss"]
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss, tf.linalg.global_norm(gradients)

    losses = [step() for _ in range(3)]
    assert all(np.isfinite(loss) and np.isfinite(norm) and norm > 0 for loss, norm in losses)
    # The crops and the noise come from the model's seed generator: each step draws anew.
    assert len({float(loss) for loss, _ in losses}) == 3


def test_noise_prediction_loss_is_the_l1_of_the_noise_on_the_diffused_audio():
    model, batch = _tiny(), _batch()
    rng = np.random.default_rng(0)
    mel, audio = batch["mel"].numpy(), batch["audio"].numpy()
    level = np.array([0.9, 0.3], np.float32)
    noise = rng.standard_normal(audio.shape).astype(np.float32)
    noisy = level[:, None] * audio + np.sqrt(1.0 - level[:, None] ** 2) * noise
    errors = np.abs(noise - model(noisy, mel, level).numpy())
    loss = model.noise_prediction_loss(mel, audio, level, noise)
    assert loss.dtype == tf.float32
    np.testing.assert_allclose(float(loss), errors.mean(), rtol=1e-5)
    per_crop = model.noise_prediction_loss(mel, audio, level, noise, per_crop=True)
    np.testing.assert_allclose(per_crop, errors.mean(axis=1), rtol=1e-5)


def test_mixed_bfloat16_computes_in_bf16_and_the_loss_in_float32():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model, batch = _tiny(), _batch()
        with tf.GradientTape() as tape:
            loss = model.compute_losses(batch, training=True)["loss"]
        gradients = tape.gradient(loss, model.trainable_variables)
        assert loss.dtype == tf.float32 and np.isfinite(loss)
        assert all(np.all(np.isfinite(g)) for g in gradients)
        assert model(batch["audio"], batch["mel"], tf.constant([0.5, 0.5])).dtype == tf.bfloat16
        assert all(v.dtype == tf.float32 for v in model.trainable_variables)
        audio = model.vocode(batch["mel"][:, :4])["audio"]
        assert audio.dtype == tf.float32 and np.all(np.abs(audio) <= 1.0)
    finally:
        keras.config.set_dtype_policy(previous)


def test_inference_xla_auto_skips_xla_only_for_bf16_on_the_cpu():
    if tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"):
        pytest.skip("the automatic choice differs on accelerators")
    assert _tiny().uses_xla_for_inference()
    assert not _tiny(dtype="mixed_bfloat16").uses_xla_for_inference()
    assert _tiny(dtype="mixed_bfloat16", inference_xla=True).uses_xla_for_inference()
    assert not _tiny(inference_xla=False).uses_xla_for_inference()
    assert WaveGrad.from_config(_tiny(inference_xla=False).get_config()).inference_xla is False
    with pytest.raises(ValueError, match="inference_xla"):
        _tiny(inference_xla="yes")


def test_vocode_with_and_without_xla_gives_the_same_audio():
    batch = _batch()
    with_xla = _tiny(inference_xla=True)
    with_xla.compute_losses(batch)
    without_xla = _tiny(inference_xla=False)
    without_xla.compute_losses(batch)
    without_xla.set_weights(with_xla.get_weights())
    mel = batch["mel"][:, :4]
    np.testing.assert_allclose(
        with_xla.vocode(mel, seed=3)["audio"], without_xla.vocode(mel, seed=3)["audio"], atol=1e-4
    )
