"""track_layers: layers kept in a list reach tf.train.Checkpoint under stable names."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers.tracking import track_layers


class Stack(keras.layers.Layer):
    def __init__(self, tracked, **kwargs):
        super().__init__(**kwargs)
        self.tracked = tracked

    def build(self, input_shape):
        dense = [keras.layers.Dense(3, name=f"dense_{index}") for index in range(2)]
        self.dense = track_layers(self, dense, "dense_{}") if self.tracked else dense
        for layer in self.dense:
            layer.build((None, 3))

    def call(self, inputs):
        for layer in self.dense:
            inputs = layer(inputs)
        return inputs


def _restored_kernels(tracked, tmp_path):
    source, target = Stack(tracked), Stack(tracked)
    source(np.ones((1, 3), np.float32))
    target(np.ones((1, 3), np.float32))
    path = tf.train.Checkpoint(layer=source).write(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(layer=target).read(path).expect_partial()
    names = {name for name, _ in tf.train.list_variables(path)}
    same = [
        np.array_equal(a.kernel, b.kernel) for a, b in zip(source.dense, target.dense, strict=True)
    ]
    return names, same


def test_tracked_layers_are_saved_and_restored_under_their_names(tmp_path):
    names, same = _restored_kernels(True, tmp_path)
    assert "layer/dense_0/_kernel/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert "layer/dense_1/_kernel/.ATTRIBUTES/VARIABLE_VALUE" in names
    assert same == [True, True]


def test_a_plain_list_is_not_in_the_checkpoint(tmp_path):
    # The reason for the helper: without it the list's weights are silently left out.
    names, same = _restored_kernels(False, tmp_path)
    assert not any("dense" in name for name in names)
    assert same == [False, False]


def test_layer_names_are_used_without_a_format():
    owner = keras.layers.Layer()
    dense = [keras.layers.Dense(2, name="first"), keras.layers.Dense(2, name="second")]
    assert track_layers(owner, dense) == dense
    assert owner.first is dense[0] and owner.second is dense[1]


def test_colliding_names_are_an_error():
    owner = keras.layers.Layer()
    with pytest.raises(ValueError, match="unique"):
        track_layers(owner, [keras.layers.Dense(2), keras.layers.Dense(2)], "dense")
