"""Tests for the masked Keras loss of the discretized mixtures."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from ttszoo import distributions


def numpy_interior_mol_nll(y, raw, num_classes, log_scale_min=-7.0):
    """Exact discretized logistic-mixture NLL for targets away from the edges (float64)."""
    logits, means, log_scales = np.split(raw.astype(np.float64), 3, axis=-1)
    scales = np.exp(np.maximum(log_scales, log_scale_min))
    h = 1.0 / (num_classes - 1)
    y = y[..., None]
    mass = stats.logistic.cdf(y + h, means, scales) - stats.logistic.cdf(y - h, means, scales)
    return -special.logsumexp(np.log(mass) + special.log_softmax(logits, axis=-1), axis=-1)


def toy_batch(seed=0, batch=3, time=6, components=2, num_classes=256):
    rng = np.random.default_rng(seed)
    k = rng.integers(20, num_classes - 20, size=(batch, time))
    y = (2.0 * k / (num_classes - 1) - 1.0).astype(np.float32)
    raw = rng.normal(size=(batch, time, 3 * components)).astype(np.float32)
    raw[..., components : 2 * components] = y[..., None] + 0.05 * raw[..., :components]
    raw[..., 2 * components :] = rng.uniform(-4.0, -2.0, size=(batch, time, components))
    mask = (np.arange(time)[None, :] < np.array([[6], [4], [1]])).astype(np.float32)
    return y, raw, mask


def test_masked_mean_matches_numpy():
    y, raw, mask = toy_batch()
    loss = distributions.DiscretizedMixtureLoss(num_classes=256)
    nll = numpy_interior_mol_nll(y, raw, 256)
    expected = (nll * mask).sum() / mask.sum()
    np.testing.assert_allclose(float(loss(y, raw, sample_weight=mask)), expected, rtol=1e-5)
    np.testing.assert_allclose(
        float(loss(y[..., None], raw, sample_weight=mask)), expected, rtol=1e-5
    )
    np.testing.assert_allclose(float(loss(y, raw)), nll.mean(), rtol=1e-5)
    # Padded frames do not matter, whatever they hold.
    garbage = raw.copy()
    garbage[mask == 0] = 50.0
    np.testing.assert_allclose(float(loss(y, garbage, sample_weight=mask)), expected, rtol=1e-5)


def test_functional_form_and_gaussian_family():
    y, raw, _ = toy_batch()
    nll = distributions.discretized_mixture_nll(y, raw, num_classes=256)
    assert nll.shape == (3, 6) and nll.dtype == tf.float32
    np.testing.assert_allclose(nll.numpy(), numpy_interior_mol_nll(y, raw, 256), rtol=1e-5)
    gaussian = distributions.DiscretizedMixtureLoss(family="gaussian", num_classes=256)
    expected = -distributions.DiscretizedGaussian.from_network_output(
        raw, num_classes=256, log_scale_min=gaussian.log_scale_min
    ).log_prob(y)
    np.testing.assert_allclose(float(gaussian(y, raw)), expected.numpy().mean(), rtol=1e-6)


def test_config_round_trip():
    loss = distributions.DiscretizedMixtureLoss(
        family="gaussian", num_classes=1024, log_scale_min=-9.0, reference_edges=True, name="nll"
    )
    restored = distributions.DiscretizedMixtureLoss.from_config(loss.get_config())
    assert restored.get_config() == loss.get_config()
    deserialized = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(deserialized, distributions.DiscretizedMixtureLoss)
    assert deserialized.get_config() == loss.get_config()
    y, raw, mask = toy_batch()
    assert float(deserialized(y, raw, mask)) == float(loss(y, raw, mask))


def test_saved_model_keeps_the_loss(tmp_path):
    inputs = keras.Input((6, 4))
    model = keras.Model(inputs, keras.layers.Dense(6)(inputs))
    model.compile(optimizer="adam", loss=distributions.DiscretizedMixtureLoss(num_classes=256))
    path = str(tmp_path / "mol.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored.loss, distributions.DiscretizedMixtureLoss)
    assert restored.loss.num_classes == 256


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="family"):
        distributions.DiscretizedMixtureLoss(family="laplace")
    with pytest.raises(ValueError, match="float32 or float64"):
        distributions.DiscretizedMixtureLoss(dtype="bfloat16")
    with pytest.raises(ValueError, match="num_classes"):
        distributions.DiscretizedMixtureLoss(num_classes=1)
    with pytest.raises(ValueError, match="y_true must have shape"):
        distributions.discretized_mixture_nll(tf.zeros([3]), tf.zeros([3, 5, 6]))


def _train(policy, steps):
    """Trains a tiny Dense MoL head with the loss in an XLA-compiled step; returns the losses."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        rng = np.random.default_rng(3)
        features = rng.normal(size=(8, 16, 4)).astype(np.float32)
        targets = np.tanh(features[..., 0] * 0.5).astype(np.float32)
        mask = np.ones((8, 16), np.float32)
        mask[:, 12:] = 0.0
        model = keras.Sequential(
            [keras.Input((16, 4)), keras.layers.Dense(16), keras.layers.Dense(9)]
        )
        loss_fn = distributions.DiscretizedMixtureLoss(num_classes=2**16)
        optimizer = keras.optimizers.Adam(0.02)

        @tf.function(jit_compile=True)
        def step(x, y, w):
            with tf.GradientTape() as tape:
                output = model(x, training=True)
                loss = loss_fn(y, output, sample_weight=w)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            return loss, output[0, 0, 0]

        losses = []
        for _ in range(steps):
            loss, first_output = step(features, targets, mask)
            assert loss.dtype == tf.float32
            losses.append(float(loss))
        return np.array(losses), first_output.dtype
    finally:
        keras.config.set_dtype_policy(previous)


def test_jit_compiled_training_step_lowers_the_loss():
    losses, _ = _train("float32", 60)
    assert np.all(np.isfinite(losses))
    assert losses[-5:].mean() < losses[:5].mean() - 1.0


def test_mixed_bfloat16_keeps_the_loss_in_float32():
    losses, output_dtype = _train("mixed_bfloat16", 30)
    assert output_dtype == tf.bfloat16
    assert np.all(np.isfinite(losses))
    assert losses[-5:].mean() < losses[:5].mean()
    y, raw, mask = toy_batch()
    as_bf16 = tf.cast(raw, tf.bfloat16)
    loss = distributions.DiscretizedMixtureLoss(num_classes=256)
    value = loss(y, as_bf16, sample_weight=mask)
    assert value.dtype == tf.float32
    expected = loss(y, tf.cast(as_bf16, tf.float32), sample_weight=mask)
    assert float(value) == float(expected)
