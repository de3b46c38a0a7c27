"""Checks shared by the layer tests."""

import contextlib

import keras
import numpy as np


def check_keras_round_trip(layer, input_shape, x, tmp_path, atol=1e-5):
    """A model of ``layer`` on inputs ``input_shape``, saved as ``.keras`` and loaded in safe
    mode, holds a layer of the same type and gives the same outputs for ``x``."""
    source = keras.Input(input_shape)
    model = keras.Model(source, layer(source))
    path = str(tmp_path / "layer.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.layers[1], type(layer))
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=atol)


@contextlib.contextmanager
def dtype_policy(policy):
    """Keras' global dtype policy set to ``policy`` inside the block, restored after it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def with_random_weights(layer, input_channels, seed=0):
    """``layer`` built for ``[B, T, input_channels]`` inputs, every weight drawn from N(0, 1)."""
    layer.build((None, None, input_channels))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer
