"""HiFi-GAN: published sizes, hop checks, losses against numpy, a two-player XLA training step
through the real trainer, serialisation and chunked generation, on tiny configurations."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gin
from ttszoo.layers import gan_losses
from ttszoo.models import get_model
from ttszoo.models.hifigan import HiFiGAN, HiFiGANGenerator
from ttszoo.training import Trainer, make_optimizer, parse_gin

from .gan_vocoder_checks import (
    check_config_round_trip,
    check_exported_savedmodel,
    check_windows_equal_one_pass,
)

# Rates 4 * 2 = hop 8, kernels 8 and 4, residual type 2: a receptive field of a few frames.
TINY = {
    "upsample_rates": (4, 2),
    "upsample_kernel_sizes": (8, 4),
    "initial_channels": 8,
    "resblock_type": "2",
    "resblock_kernel_sizes": (3,),
    "resblock_dilations": ((1, 2),),
    "periods": (2, 3),
    "period_channels": (4, 4),
    "scales": 2,
    "scale_layers": ((4, 15, 1, 1), (8, 41, 4, 4), (8, 5, 1, 1)),
    "n_mels": 6,
    "segment_frames": 16,
    "sample_rate": 8000,
    "loss_n_fft": 64,
    "loss_win_length": 32,
    "loss_n_mels": 10,
    "chunk_frames": 16,
    "context_frames": 16,
}
HOP = 8


def _tiny(**overrides):
    return HiFiGAN(**dict(TINY, **overrides))


def _batch(batch_size=2, frames=24, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "mel": tf.constant(rng.uniform(0, 1, (batch_size, frames, 6)), tf.float32),
        "audio": tf.constant(rng.uniform(-0.5, 0.5, (batch_size, frames * HOP)), tf.float32),
        "mel_length": tf.constant([frames, frames - 5][:batch_size], tf.int32),
    }


def authors_generator_parameters(rates, kernels, initial, block_type, block_kernels, dilations):
    """Parameters of jik876/hifi-gan's Generator after remove_weight_norm, counted from its
    layer list (models.py): conv_pre 80 -> initial (kernel 7), per stage a ConvTranspose1d
    halving the channels and one ResBlock per kernel (type 1: 2 convs per dilation, type 2:
    1), conv_post ch -> 1 (kernel 7); every layer with a bias."""

    def conv(cin, cout, k):
        return cin * cout * k + cout

    total = conv(80, initial, 7)
    channels = initial
    for u_kernel in kernels:
        total += conv(channels, channels // 2, u_kernel)
        channels //= 2
        for k, ds in zip(block_kernels, dilations, strict=True):
            per_dilation = 2 if block_type == "1" else 1
            total += per_dilation * len(ds) * conv(channels, channels, k)
    return total + conv(channels, 1, 7)


@pytest.mark.parametrize(
    "version, published",
    [("v1", 13.92e6), ("v2", 0.92e6), ("v3", 1.46e6)],
)
def test_generator_sizes_match_the_authors_configs(version, published):
    parse_gin([f"models/hifigan_{version}.gin"])
    model = gin.get_configurable(get_model)()
    generator = model.generator
    generator.build((1, None, 80))
    expected = authors_generator_parameters(
        generator.upsample_rates,
        generator.upsample_kernel_sizes,
        generator.initial_channels,
        generator.resblock_type,
        generator.resblock_kernel_sizes,
        generator.resblock_dilations,
    )
    assert generator.count_params() == expected
    # Kong et al. 2020, table 1, gives the sizes to two decimals (truncated: V1 is 13,926,017).
    assert abs(expected - published) < 0.01e6
    assert generator.hop_length == model.hop_length == 256


def test_v1_parameter_count_is_the_known_number():
    generator = HiFiGANGenerator()
    generator.build((1, None, 80))
    assert generator.count_params() == 13_926_017


@pytest.mark.parametrize(
    "rates, kernels",
    [((8, 8, 2, 2), (16, 16, 4, 4)), ((5, 5, 4, 2), (11, 11, 8, 4)), ((5, 5, 8), (11, 11, 16))],
)
def test_output_has_frames_times_hop_samples(rates, kernels):
    generator = HiFiGANGenerator(rates, kernels, 2 ** len(rates) * 2, "2", (3,), ((1,),))
    audio = generator(tf.zeros([2, 5, 7]))
    assert audio.shape == (2, 5 * int(np.prod(rates)))
    assert np.all(np.abs(audio) <= 1.0)


def test_rates_that_miss_the_hop_are_a_clear_error():
    with pytest.raises(ValueError, match=r"multiply to 256, but the hop length is 200"):
        HiFiGAN(hop_length=200)
    with pytest.raises(ValueError, match="kernel 10 for rate 5"):
        HiFiGANGenerator((5, 5, 8), (10, 10, 16))
    model = _tiny()
    batch = _batch()
    batch["audio"] = tf.zeros([2, 24 * 10])
    with pytest.raises(ValueError, match=r"hop of 10, but this HiFiGAN has a hop of 8"):
        model.compute_losses(batch)


def test_least_squares_and_feature_matching_losses_against_numpy():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(2, 7)), rng.normal(size=(2, 7))
    maps_real = [rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4))]
    maps_fake = [rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4))]
    np.testing.assert_allclose(
        gan_losses.least_squares_discriminator_loss(tf.constant(real), tf.constant(fake)),
        np.mean((1 - real) ** 2) + np.mean(fake**2),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        gan_losses.least_squares_generator_loss(tf.constant(fake)),
        np.mean((1 - fake) ** 2),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        gan_losses.feature_matching_loss(
            [tf.constant(m) for m in maps_real], [tf.constant(m) for m in maps_fake]
        ),
        sum(np.mean(np.abs(r - f)) for r, f in zip(maps_real, maps_fake, strict=True)),
        rtol=1e-6,
    )


def test_model_losses_sum_over_sub_discriminators_with_the_papers_weights():
    model = _tiny()
    batch = _batch(frames=16)  # the crop is the whole utterance: no randomness
    batch["mel_length"] = tf.constant([16, 16])
    losses = {k: float(v) for k, v in model.compute_losses(batch).items()}
    audio = batch["audio"]
    generated = model.generate(batch["mel"])
    real, fake = model.discriminate(audio), model.discriminate(generated)
    pairs = [(r, f) for g in ("mpd", "msd") for r, f in zip(real[g], fake[g], strict=True)]
    assert len(pairs) == 2 + 2
    d = sum(np.mean((1 - r[0]) ** 2) + np.mean(np.asarray(f[0]) ** 2) for r, f in pairs)
    adversarial = sum(np.mean((1 - np.asarray(f[0])) ** 2) for _, f in pairs)
    matching = sum(
        np.mean(np.abs(np.asarray(a) - np.asarray(b)))
        for r, f in pairs
        for a, b in zip(r[1], f[1], strict=True)
    )
    np.testing.assert_allclose(losses["discriminator_loss"], d, rtol=1e-4)
    np.testing.assert_allclose(losses["adversarial_loss"], adversarial, rtol=1e-4)
    np.testing.assert_allclose(losses["feature_matching_loss"], matching, rtol=1e-4)
    np.testing.assert_allclose(
        losses["generator_loss"],
        adversarial + 2 * matching + 45 * losses["mel_l1"],
        rtol=1e-4,
    )


LEARNING_RATES = {"discriminator": 0.01, "generator": 0.03}


def _sgd_trainer(tmp_path, model_fn):
    """A trainer of ``model_fn``'s model with SGD at ``LEARNING_RATES`` per player, XLA steps,
    on one batch whose crop is the whole utterance (frames == segment_frames); and the batch."""
    gin.parse_config("make_optimizer.optimizer = @keras.optimizers.SGD")
    for name, rate in LEARNING_RATES.items():
        gin.parse_config(f"{name}/make_optimizer.learning_rate = {rate}")
    batch = _batch(frames=16)
    batch["mel_length"] = tf.constant([16, 16])
    trainer = Trainer(
        str(tmp_path), tf.distribute.get_strategy(), model_fn, make_optimizer,
        tf.data.Dataset.from_tensors(batch).repeat(), jit_compile=True, checkpoint_every=0,
        log_every=0, sample_every=0, verbose=False,
    )  # fmt: skip
    return trainer, batch


def test_two_xla_steps_through_the_trainer_move_each_players_variables_only(tmp_path):
    """Two compiled trainer steps (SGD, one learning rate per player) against an eager replay
    of the game: per step the discriminators descend their loss first, then the generator
    descends its loss with the updated discriminators; each moves only its own variables."""
    trainer, batch = _sgd_trainer(tmp_path, _tiny)
    model = trainer.model
    groups = model.loss_groups()
    assert [g.name for g in groups] == ["discriminator", "generator"]
    d_ids, g_ids = ({id(v) for v in g.variables} for g in groups)
    assert not d_ids & g_ids and len(d_ids) + len(g_ids) == len(model.trainable_variables)
    initial = model.get_weights()

    logs = trainer.fit(2)

    assert logs["step"] == 2 and trainer.jit_compile
    assert np.isfinite(logs["discriminator_loss"]) and np.isfinite(logs["generator_loss"])
    replay = _tiny()
    replay.compute_losses(batch)
    replay.set_weights(initial)
    for _ in range(2):
        for group in replay.loss_groups():
            with tf.GradientTape() as tape:
                loss = replay.compute_losses(batch, training=True)[group.loss]
            gradients = tape.gradient(loss, group.variables)
            for variable, gradient in zip(group.variables, gradients, strict=True):
                variable.assign_sub(LEARNING_RATES[group.name] * gradient)
    for trained, replayed, start in zip(model.weights, replay.weights, initial, strict=True):
        assert trained.path.split("/", 1)[1] == replayed.path.split("/", 1)[1]
        np.testing.assert_allclose(
            trained.numpy(), replayed.numpy(), atol=2e-5, err_msg=trained.path
        )
        if trained.trainable:
            assert not np.array_equal(trained.numpy(), start), trained.path


def test_mel_pretraining_trains_the_generator_alone_then_both_players(tmp_path):
    """``pretrain_mel_steps=2``: two compiled trainer steps move the generator exactly as SGD
    on ``45 * mel L1`` alone (an eager replay with no discriminator) and leave every
    discriminator weight as it was; the third step trains the discriminators too."""
    trainer, batch = _sgd_trainer(tmp_path, lambda: _tiny(pretrain_mel_steps=2))
    model = trainer.model
    discriminator_ids = {id(v) for v in model.discriminator_variables()}
    initial = model.get_weights()

    logs = trainer.fit(2)

    assert logs["discriminator_loss"] == logs["adversarial_loss"] == 0.0
    assert logs["generator_loss"] == pytest.approx(45 * logs["mel_l1"], rel=1e-5)
    replay = _tiny()
    replay.compute_losses(batch)
    replay.set_weights(initial)
    replay.set_active_groups(("generator",))
    for _ in range(2):
        with tf.GradientTape() as tape:
            loss = 45 * replay.compute_losses(batch, training=True)["mel_l1"]
        variables = replay.generator.trainable_variables
        for variable, gradient in zip(variables, tape.gradient(loss, variables), strict=True):
            variable.assign_sub(LEARNING_RATES["generator"] * gradient)
    for trained, replayed, start in zip(model.weights, replay.weights, initial, strict=True):
        if id(trained) in discriminator_ids:
            np.testing.assert_array_equal(trained.numpy(), start, err_msg=trained.path)
        else:
            np.testing.assert_allclose(trained.numpy(), replayed.numpy(), atol=2e-5)

    logs = trainer.fit(3)

    assert model.adversarial and logs["discriminator_loss"] > 0
    moved = [
        not np.array_equal(v.numpy(), start)
        for v, start in zip(model.weights, initial, strict=True)
        if id(v) in discriminator_ids
    ]
    assert all(moved)


def test_get_config_round_trip_rebuilds_the_same_model():
    check_config_round_trip(_tiny(), _batch())


def test_chunked_generation_equals_whole_generation():
    model = _tiny()
    mel = _batch(frames=70)["mel"]  # 70 frames > 16 + 2 * 16: five windows of 48 frames
    # The 16 context frames on each side reach past the receptive field of the samples kept.
    whole = check_windows_equal_one_pass(model, mel, 0.3, HOP)
    seamed = _tiny(context_frames=0)
    seamed.generator.build(mel.shape)
    seamed.generator.set_weights(model.generator.get_weights())
    assert np.abs(seamed.vocode(mel)["audio"].numpy() - whole).max() > 1e-2


def test_dilated_convolutions_skip_space_to_batch_in_inference_only():
    # TensorFlow's CPU kernels without oneDNN have no gradient for a direct dilated convolution,
    # so the losses of a training step must go through space-to-batch (DirectDilatedConv1D).
    model = _tiny()
    batch = _batch()

    def op_types(function):
        graph = tf.function(function).get_concrete_function().graph
        return {op.type for op in graph.get_operations()}

    assert "SpaceToBatchND" in op_types(lambda: model.compute_losses(batch, training=True))
    assert "SpaceToBatchND" not in op_types(lambda: model.vocode(batch["mel"])["audio"])
    np.testing.assert_allclose(
        model.generate(batch["mel"], training=True).numpy(),
        model.generate(batch["mel"]).numpy(),
        atol=1e-6,
    )


def test_exported_savedmodel_vocodes_like_the_model(tmp_path):
    mel, other = _batch(batch_size=1, frames=9)["mel"], _batch(batch_size=1, frames=4)["mel"]
    check_exported_savedmodel(_tiny(), mel, other, HOP, tmp_path / "hifigan")


def test_vocode_refuses_a_mel_of_the_wrong_rank_or_bands():
    model = _tiny()
    with pytest.raises(ValueError, match=r"mel must be \[batch, frames, n_mels\]"):
        model.vocode(tf.zeros([5, 6]))
    with pytest.raises(ValueError, match="takes mels of 6 bands, got 80"):
        model.vocode(tf.zeros([1, 5, 80]))


def test_mixed_bfloat16_generates_in_bf16_with_float32_losses():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = _tiny()
        losses = model.compute_losses(_batch(), training=True)
        assert all(v.dtype == tf.float32 for v in losses.values())
        assert model.generate(_batch()["mel"]).dtype == tf.bfloat16
        assert model.vocode(_batch()["mel"])["audio"].dtype == tf.float32
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("rate, kernel", [(8, 16), (5, 11), (2, 4)])
def test_upsampling_aligns_as_the_authors_transposed_convolution(rate, kernel):
    """Keras' "same" transposed convolution against PyTorch's ConvTranspose1d(k, u,
    padding=(k - u) / 2) written in numpy: ``y[t * u + j - (k - u) / 2] += x[t] * w[j]``."""
    generator = HiFiGANGenerator((rate,), (kernel,), 2, "2", (3,), ((1,),))
    generator.build((1, None, 3))
    layer = generator.upsample_0
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 6, 2)).astype(np.float32)
    w = layer.kernel.numpy()  # [k, out, in]
    pad = (kernel - rate) // 2
    full = np.zeros((6 * rate + kernel, 1))
    for t in range(6):
        for j in range(kernel):
            full[t * rate + j] += w[j] @ x[0, t]
    expected = full[pad : pad + 6 * rate] + layer.bias.numpy()
    np.testing.assert_allclose(layer(x)[0], expected, atol=1e-5)
