"""Sublayers held in Python lists, made visible to TensorFlow checkpoints.

Keras 3 tracks a list of layers for its own bookkeeping (``layer.weights``, ``.keras`` saving),
but a plain list attribute is not a dependency of ``tf.train.Checkpoint``: the weights of the
layers inside it would be silently left out of every checkpoint. ``track_layers`` also sets each
layer as an attribute of its owner under a stable name, so the checkpoint reaches it through
that name (and the names are the checkpoint keys, so they must not change between versions of a
model). Every ttszoo layer or model that keeps layers in a list goes through this function.
"""


def track_layers(owner, layers, name_format=None):
    """Sets every layer of ``layers`` as an attribute of ``owner`` and returns them as a list.

    Args:
      owner: the ``keras.layers.Layer`` (or ``keras.Model``) that holds the layers.
      layers: an iterable of layers, in order.
      name_format: attribute name of the ``i``-th layer, ``name_format.format(i)`` (for example
        ``"conv_{}"`` or ``"layer_{:02d}"``); the layer's own ``name`` when None.

    Returns:
      The layers as a new list, to keep as the owner's ordered attribute.

    Raises:
      ValueError: when two layers would get the same attribute name.
    """
    layers = list(layers)
    names = [
        layer.name if name_format is None else name_format.format(index)
        for index, layer in enumerate(layers)
    ]
    if len(set(names)) != len(names):
        raise ValueError(
            f"Sublayer attribute names must be unique, got {names}; give the layers distinct "
            "names or a name_format with the index in it."
        )
    for name, layer in zip(names, layers, strict=True):
        setattr(owner, name, layer)
    return layers
