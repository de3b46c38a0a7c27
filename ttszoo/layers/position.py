"""Sinusoidal position encodings and the position prior they give a dot-product attention.

Vaswani et al. 2017 (the encodings); Ping et al. 2018, Deep Voice 3 (arXiv 1710.07654): adding
them to attention keys at ``rate * n`` and to queries at ``t`` makes ``Q K^T`` favour the
diagonal ``t ~ rate * n`` (docs/references.md, "Position rate").
"""

import math

import tensorflow as tf


def sinusoidal_encoding(positions, dim):
    """Sinusoidal positional encoding (Vaswani et al. 2017) at arbitrary positions.

    Args:
      positions: [T] float or int positions (for the decoder at reduction factor r: 0, r, 2r, ...).
      dim: even encoding size D.

    Returns:
      [T, D] float32: ``sin(pos / 10000^(2i/D))`` in the first half, ``cos`` in the second.
    """
    positions = tf.cast(positions, tf.float32)[:, tf.newaxis]
    rates = tf.exp(-math.log(10000.0) * tf.range(dim // 2, dtype=tf.float32) * 2.0 / dim)
    angles = positions * rates[tf.newaxis, :]
    return tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1)


def position_prior(query_positions, key_positions, dim):
    """``PE(t) . PE(n) = sum_i cos(w_i (t - n))`` for every query and key position.

    The dot product of two encodings depends only on the distance ``t - n``: it is ``D / 2``
    where they coincide and falls, roughly with the logarithm of the distance, as they part.

    Args:
      query_positions: [T] float or int.
      key_positions: [N] float or int (e.g. ``rate * n``).
      dim: even encoding size D.

    Returns:
      [T, N] float32.
    """
    return tf.matmul(
        sinusoidal_encoding(query_positions, dim),
        sinusoidal_encoding(key_positions, dim),
        transpose_b=True,
    )
