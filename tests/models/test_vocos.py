"""Vocos: published size, the inverse-STFT head against numpy, hinge losses, XLA, bfloat16, a
SavedModel export, serialisation and chunked generation, on tiny configurations."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import gin
from ttszoo.layers import gan_losses
from ttszoo.models import get_model
from ttszoo.models.vocos import ConvNeXtBlock, Vocos, VocosGenerator, istft_same
from ttszoo.training import parse_gin

from .gan_vocoder_checks import (
    check_config_round_trip,
    check_exported_savedmodel,
    check_windows_equal_one_pass,
)

HOP, N_FFT = 16, 64
TINY = {
    "dim": 16,
    "intermediate_dim": 32,
    "num_layers": 2,
    "n_fft": N_FFT,
    "hop_length": HOP,
    "periods": (2, 3),
    "period_channels": (4, 4, 4),
    "fft_sizes": (64, 32),
    "resolution_channels": 4,
    "n_mels": 6,
    "segment_frames": 12,
    "sample_rate": 8000,
    "loss_n_fft": 64,
    "loss_win_length": 64,
    "loss_n_mels": 10,
    "chunk_frames": 24,
    "context_frames": 24,
}


def _tiny(**overrides):
    return Vocos(**dict(TINY, **overrides))


def _tinier():
    """One sub-discriminator per kind: XLA compiles the two players' step in less time."""
    return _tiny(periods=(2,), fft_sizes=(32,))


def _batch(batch_size=2, frames=20, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "mel": tf.constant(rng.uniform(0, 1, (batch_size, frames, 6)), tf.float32),
        "audio": tf.constant(rng.uniform(-0.5, 0.5, (batch_size, frames * HOP)), tf.float32),
        "mel_length": tf.constant([frames, frames - 5][:batch_size], tf.int32),
    }


def authors_generator_parameters(n_mels, dim, intermediate, layers, n_fft):
    """Parameters of gemelo-ai/vocos' VocosBackbone + ISTFTHead (models.py, modules.py,
    heads.py): embed conv7, LayerNorm, per ConvNeXt block a depthwise conv7, LayerNorm, two
    linears and the layer scale, a final LayerNorm, the head's linear to n_fft + 2."""
    norm = 2 * dim
    block = (7 * dim + dim) + norm + (dim * intermediate + intermediate)
    block += (intermediate * dim + dim) + dim
    return (n_mels * dim * 7 + dim) + norm + layers * block + norm + (dim * (n_fft + 2) + n_fft + 2)


def test_generator_size_matches_the_authors_model():
    generator = VocosGenerator()
    generator.build((1, None, 100))  # the authors' 100-band mel model
    assert generator.count_params() == authors_generator_parameters(100, 512, 1536, 8, 1024)
    assert generator.count_params() == 13_531_650  # "13.5M" in Siuzdak 2023, table 1
    parse_gin(["models/vocos.gin"])
    model = gin.get_configurable(get_model)()
    assert (model.generator.dim, model.generator.num_layers, model.hop_length) == (512, 8, 256)
    assert model.generator.layer_scale == 1 / 8


@pytest.mark.parametrize("n_fft, hop", [(1024, 256), (800, 200), (64, 16)])
def test_output_has_frames_times_hop_samples(n_fft, hop):
    generator = VocosGenerator(8, 16, 1, n_fft=n_fft, hop_length=hop)
    audio = generator(tf.zeros([2, 5, 7]))
    assert audio.shape == (2, 5 * hop) and audio.dtype == tf.float32


def test_an_odd_fft_hop_difference_is_a_clear_error():
    with pytest.raises(ValueError, match="n_fft=1024, hop_length=255"):
        VocosGenerator(n_fft=1024, hop_length=255)


def _numpy_convnext_block(x, depthwise, depthwise_bias, scale, offset, w1, b1, w2, b2, gamma):
    """gemelo-ai/vocos' ConvNeXtBlock in numpy, ``x`` ``[B, T, C]``: a depthwise convolution of
    kernel 7 with 3 zero frames on each side, LayerNorm (eps 1e-6), Linear, exact GELU
    ``x / 2 * (1 + erf(x / sqrt 2))``, Linear, the layer scale and the residual."""
    frames = x.shape[1]
    padded = np.pad(x, [(0, 0), (3, 3), (0, 0)])
    y = sum(padded[:, k : k + frames] * depthwise[k] for k in range(7)) + depthwise_bias
    mean = y.mean(-1, keepdims=True)
    variance = ((y - mean) ** 2).mean(-1, keepdims=True)
    y = (y - mean) / np.sqrt(variance + 1e-6) * scale + offset
    h = y @ w1 + b1
    h = h / 2 * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
    return x + gamma * (h @ w2 + b2)


# 12 groups for 9 frames: some ranges are empty.
@pytest.mark.parametrize("frame_groups", [1, 2, 4, 12])
def test_convnext_block_matches_numpy_for_every_utterance_of_a_batch(frame_groups):
    rng = np.random.default_rng(2)
    dim, hidden = 6, 10
    block = ConvNeXtBlock(dim, hidden, layer_scale=0.5, frame_groups=frame_groups)
    x = rng.normal(size=(2, 9, dim)).astype(np.float32)
    block.build(x.shape)
    w = {
        "depthwise": rng.normal(0, 0.5, (7, dim)),
        "depthwise_bias": rng.normal(0, 0.5, dim),
        "scale": rng.normal(1, 0.5, dim),
        "offset": rng.normal(0, 0.5, dim),
        "w1": rng.normal(0, 0.5, (dim, hidden)),
        "b1": rng.normal(0, 0.5, hidden),
        "w2": rng.normal(0, 0.5, (hidden, dim)),
        "b2": rng.normal(0, 0.5, dim),
        "gamma": rng.normal(0, 0.5, dim),
    }
    block.depthwise.set_weights([w["depthwise"][:, :, np.newaxis], w["depthwise_bias"]])
    block.norm.set_weights([w["scale"], w["offset"]])
    block.expand.set_weights([w["w1"], w["b1"]])
    block.project.set_weights([w["w2"], w["b2"]])
    block.gamma.assign(w["gamma"])
    ours = tf.function(block)(tf.constant(x)).numpy()
    np.testing.assert_allclose(ours, _numpy_convnext_block(x, **w), atol=1e-5)


def _matmuls(function, mel):
    graph = function.get_concrete_function(tf.TensorSpec([1, None, mel.shape[-1]])).graph
    return sum(op.type == "MatMul" for op in graph.get_operations())


def test_frame_groups_split_the_pointwise_work_into_independent_ops_with_equal_results():
    """Two frame groups: each block's two linears run twice, on disjoint frames; audio, XLA
    gradients and a mixed bfloat16 call equal those of one group with the same weights."""
    mel = _batch(batch_size=1, frames=13)["mel"]
    one, two = _tiny(), _tiny(frame_groups=2)
    one.vocode(mel)
    two.vocode(mel)
    two.generator.set_weights(one.generator.get_weights())
    functions = [tf.function(lambda m, model=model: model.generate(m)) for model in (one, two)]
    assert _matmuls(functions[1], mel) - _matmuls(functions[0], mel) == 2 * TINY["num_layers"]
    np.testing.assert_allclose(functions[1](mel), functions[0](mel), atol=1e-6)

    @tf.function(jit_compile=True)
    def gradients(model):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model.generate(mel)))
        return tape.gradient(loss, model.generator.trainable_variables)

    for ours, reference in zip(gradients(two), gradients(one), strict=True):
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-6)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        half = [_tiny(frame_groups=groups) for groups in (1, 2)]
        for model in half:
            model.vocode(mel)
            model.generator.set_weights(one.generator.get_weights())
        audio = [model.vocode(mel)["audio"].numpy() for model in half]
    finally:
        keras.config.set_dtype_policy(previous)
    assert half[1].generator.block_0.expand.compute_dtype == "bfloat16"
    # Within bf16 round-off: oneDNN may pick another kernel for fewer rows.
    np.testing.assert_allclose(audio[1], audio[0], atol=1e-2 * np.abs(audio[0]).max())


def test_frame_groups_can_be_set_on_a_built_model_and_must_be_a_positive_integer():
    model = _tiny()
    model.frame_groups = 3
    assert [block.frame_groups for block in model.generator.blocks] == [3, 3]
    assert model.get_config()["frame_groups"] == 3
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="frame_groups must be an integer >= 1"):
            VocosGenerator(frame_groups=bad)
        with pytest.raises(ValueError, match="frame_groups must be an integer >= 1"):
            model.frame_groups = bad


def _numpy_stft_same(x, n_fft, hop):
    """Frames starting (n_fft - hop) / 2 samples before the signal, periodic Hann window."""
    pad = (n_fft - hop) // 2
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.pad(x, (pad, pad))
    frames = len(x) // hop
    return np.stack(
        [np.fft.rfft(padded[t * hop : t * hop + n_fft] * window) for t in range(frames)]
    )


def _numpy_istft_same(spectrum, n_fft, hop):
    """Windowed inverse FFT of each frame, overlap-add, trim, divide by the squared window sum."""
    pad = (n_fft - hop) // 2
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = len(spectrum)
    out = np.zeros((frames - 1) * hop + n_fft)
    envelope = np.zeros_like(out)
    for t, frame in enumerate(spectrum):
        out[t * hop : t * hop + n_fft] += np.fft.irfft(frame, n_fft) * window
        envelope[t * hop : t * hop + n_fft] += window**2
    return out[pad:-pad] / envelope[pad:-pad]


@pytest.mark.parametrize("n_fft, hop", [(64, 16), (40, 10)])
def test_inverse_stft_matches_numpy_overlap_add_and_inverts_a_known_stft(n_fft, hop):
    rng = np.random.default_rng(1)
    x = rng.normal(size=30 * hop)
    spectrum = _numpy_stft_same(x, n_fft, hop)
    ours = istft_same(tf.constant(spectrum[np.newaxis], tf.complex64), n_fft, hop).numpy()[0]
    assert ours.shape == x.shape
    np.testing.assert_allclose(ours, _numpy_istft_same(spectrum, n_fft, hop), atol=1e-4)
    np.testing.assert_allclose(ours, x, atol=1e-4)


def test_head_clips_the_magnitude_at_100():
    generator = VocosGenerator(8, 16, 1, n_fft=N_FFT, hop_length=HOP)
    generator.build((1, None, 6))
    kernel, bias = generator.head.get_weights()
    generator.head.set_weights([np.zeros_like(kernel), np.full_like(bias, 10.0)])
    spectrum = generator.spectrum(tf.zeros([1, 3, 6]))
    np.testing.assert_allclose(np.abs(spectrum.numpy()), 100.0, rtol=1e-5)


def test_hinge_losses_against_numpy():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    np.testing.assert_allclose(
        gan_losses.hinge_discriminator_loss(tf.constant(real), tf.constant(fake)),
        np.mean(relu(1 - real)) + np.mean(relu(1 + fake)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        gan_losses.hinge_generator_loss(tf.constant(fake)), np.mean(relu(1 - fake)), rtol=1e-6
    )


def test_losses_average_sub_discriminators_and_weight_the_mrd_by_a_tenth():
    model = _tiny()
    batch = _batch(frames=12)
    batch["mel_length"] = tf.constant([12, 12])
    losses = {k: float(v) for k, v in model.compute_losses(batch).items()}
    generated = model.generate(batch["mel"])
    real, fake = model.discriminate(batch["audio"]), model.discriminate(generated)
    weights = {"mpd": 1.0, "mrd": 0.1}
    d = adversarial = matching = 0.0
    for group, weight in weights.items():
        pairs = list(zip(real[group], fake[group], strict=True))
        d += weight * np.mean(
            [np.mean(np.maximum(1 - r[0], 0)) + np.mean(np.maximum(1 + f[0], 0)) for r, f in pairs]
        )
        adversarial += weight * np.mean([np.mean(np.maximum(1 - f[0], 0)) for _, f in pairs])
        matching += weight * np.mean(
            [sum(np.mean(np.abs(a - b)) for a, b in zip(r[1], f[1], strict=True)) for r, f in pairs]
        )
    # The MPD drops its first feature map (as the authors): 2 convs + scores = 3 per period.
    assert [len(f[1]) for f in fake["mpd"]] == [3, 3]
    np.testing.assert_allclose(losses["discriminator_loss"], d, rtol=1e-4)
    np.testing.assert_allclose(losses["adversarial_loss"], adversarial, rtol=1e-4)
    np.testing.assert_allclose(losses["feature_matching_loss"], matching, rtol=1e-4)
    np.testing.assert_allclose(
        losses["generator_loss"], adversarial + matching + 45 * losses["mel_l1"], rtol=1e-4
    )


def test_both_players_compile_with_xla_and_vocode_matches_eager():
    model, batch = _tinier(), _batch()
    model.compute_losses(batch)
    groups = model.loss_groups()

    @tf.function(jit_compile=True)
    def gradients():
        norms = []
        for group in groups:
            with tf.GradientTape() as tape:
                loss = model.compute_losses(batch, training=True)[group.loss]
            norms.append(tf.linalg.global_norm(tape.gradient(loss, group.variables)))
        return norms

    assert all(np.isfinite(n) and n > 0 for n in gradients())
    mel = batch["mel"]
    compiled = tf.function(lambda m: model.vocode(m)["audio"], jit_compile=True)(mel)
    np.testing.assert_allclose(compiled, model.vocode(mel)["audio"], atol=1e-5)


def test_mixed_bfloat16_computes_the_backbone_in_bf16_and_returns_float32_audio():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model, batch = _tinier(), _batch()
        model.compute_losses(batch)

        # Compiled as the trainer compiles its step. (Eager bfloat16 convolutions of oneDNN on
        # this CPU gave sporadic NaNs in the 4-channel discriminators; XLA's do not.)
        @tf.function(jit_compile=True)
        def generator_step():
            with tf.GradientTape() as tape:
                loss = model.compute_losses(batch, training=True)["generator_loss"]
            return loss, tape.gradient(loss, model.generator.trainable_variables)

        loss, gradients = generator_step()
        assert loss.dtype == tf.float32 and np.isfinite(loss)
        assert all(np.all(np.isfinite(g)) for g in gradients)
        assert model.generator.block_0.expand.compute_dtype == "bfloat16"
        assert all(v.dtype == tf.float32 for v in model.trainable_variables)
        audio = model.vocode(batch["mel"])["audio"]
        assert audio.dtype == tf.float32 and np.all(np.isfinite(audio))
    finally:
        keras.config.set_dtype_policy(previous)


def test_exported_savedmodel_vocodes_like_the_model(tmp_path):
    mel, other = _batch(batch_size=1, frames=9)["mel"], _batch(batch_size=1, frames=4)["mel"]
    check_exported_savedmodel(_tiny(), mel, other, HOP, tmp_path / "vocos")


def test_get_config_round_trip_rebuilds_the_same_model():
    check_config_round_trip(_tiny(frame_groups=3), _batch())


def test_chunked_generation_equals_whole_generation():
    mel = _batch(frames=100)["mel"]  # 100 frames > 24 + 2 * 24: five windows of 72 frames
    # Receptive field: 3 + 2 * 3 frames of convolutions plus 2 frames of the inverse STFT, within
    # the 24 context frames, so the windows reproduce the single pass at the seams and the ends.
    check_windows_equal_one_pass(_tiny(), mel, 0.1, HOP)
