"""Checks shared by the GAN vocoder tests (HiFi-GAN, Vocos)."""

import numpy as np
import tensorflow as tf


def check_config_round_trip(model, batch):
    """``from_config(get_config())`` rebuilds ``model``: same config, weights fit, same audio."""
    model.compute_losses(batch)
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.compute_losses(batch)
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    mel = batch["mel"]
    np.testing.assert_allclose(clone.vocode(mel)["audio"], model.vocode(mel)["audio"], atol=1e-6)


def check_windows_equal_one_pass(model, mel, weight_scale, hop, atol=1e-5):
    """With random non-zero weights and biases (zero mel frames no longer give zero output),
    ``vocode`` of a long mel (generated window by window) equals one pass of the generator to
    ``atol``, at the seams and the ends too. Returns the one-pass audio."""
    model.generator.build(mel.shape)
    rng = np.random.default_rng(7)
    model.generator.set_weights(
        [rng.normal(0, weight_scale, w.shape) for w in model.generator.get_weights()]
    )
    windowed = model.vocode(mel)["audio"].numpy()
    whole = model.generate(mel).numpy()
    assert windowed.shape == whole.shape == (mel.shape[0], mel.shape[1] * hop)
    np.testing.assert_allclose(windowed, np.clip(whole, -1, 1), atol=atol)
    return whole


def check_exported_savedmodel(model, mel, other_mel, hop, path):
    """A SavedModel of ``vocode`` with a dynamic batch and length, written to ``path``, gives
    the model's audio for ``mel`` and the right length for ``other_mel``."""
    expected = model.vocode(mel)["audio"].numpy()
    module = tf.Module()
    module.model = model
    module.vocode = tf.function(
        lambda m: model.vocode(m),
        input_signature=[tf.TensorSpec([None, None, mel.shape[-1]], tf.float32)],
    )
    tf.saved_model.save(module, str(path))
    loaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(loaded.vocode(mel)["audio"], expected, atol=1e-5)
    assert loaded.vocode(other_mel)["audio"].shape == (1, other_mel.shape[1] * hop)
