"""Losses shared by the acoustic model families: masked means, masked L1, guided attention.

Every loss here is a float32 scalar whatever the compute dtype, and every one is a mean over the
valid (unpadded) elements of the batch, so its value does not depend on how much padding a batch
carries nor on how utterances are grouped into batches.

* ``masked_mean(values, mask)``: ``sum(values * mask) / (sum(mask) * C)`` for ``values``
  ``[B, T, C]`` and a frame mask ``[B, T]``: the mean over the valid frames and all channels.
* ``masked_l1(prediction, target, mask)``: ``masked_mean(|prediction - target|, mask)``.
* ``guided_attention_loss(alignment, query_length, key_length, g)``: the guided-attention loss of
  Tachibana et al. 2017 (arXiv 1710.08969, eq. 4; docs/references.md, DCTTS guided attention),
  normalised per query: for each valid query (output step) ``t``, ``sum_n A[t, n] W[n, t]`` is the
  expected penalty of that step's attention (each row of ``A`` is a distribution over the keys),
  and the loss is the mean of it over the valid queries of the batch. The paper's ``E_nt``
  averages over the ``N x T`` cells instead, which divides the same misalignment by the text
  length ``N``: long utterances, where alignments fail, would be guided least, and the weight of
  the loss would mean something different for every corpus.

DCTTS (L1 of the mels, guided attention of Text2Mel) and Transformer TTS (L1 before and after
the postnet, diagonal forcing of its encoder-decoder attention) both use these functions.
"""

import tensorflow as tf

from ttszoo.layers.guided_attention import guided_attention_weights


def masked_mean(values, mask):
    """Mean of ``values`` [B, T, C] over the frames where ``mask`` [B, T] is true, as float32.

    Every channel of a valid frame counts once; a batch with no valid frame gives 0.
    """
    values = tf.cast(values, tf.float32)
    mask = tf.cast(mask, tf.float32)[:, :, tf.newaxis]
    count = tf.reduce_sum(mask) * tf.cast(tf.shape(values)[-1], tf.float32)
    return tf.reduce_sum(values * mask) / tf.maximum(count, 1.0)


def masked_l1(prediction, target, mask):
    """Mean absolute error of ``prediction`` and ``target`` [B, T, C] over the valid frames.

    Args:
      prediction, target: [B, T, C] in any float dtype.
      mask: [B, T] bool or 0/1, true for real frames.

    Returns:
      Scalar float32 ``masked_mean(|prediction - target|, mask)``.
    """
    error = tf.abs(tf.cast(prediction, tf.float32) - tf.cast(target, tf.float32))
    return masked_mean(error, mask)


def guided_attention_loss(alignment, query_length, key_length, g=0.2):
    """Guided-attention loss: the expected off-diagonal penalty per valid query, batch mean.

    ``loss = sum_b sum_{t < T_b} sum_{n < N_b} A[b, t, n] W_b[n, t] / sum_b T_b`` with
    ``W_b[n, t] = 1 - exp(-(n / N_b - t / T_b)^2 / (2 g^2))`` (``guided_attention_weights``).

    Args:
      alignment: [B, Tq, Tk] attention weights, queries first (each valid row a distribution
        over the keys): decoder steps x text symbols.
      query_length: int [B], the valid queries ``T_b`` of each utterance.
      key_length: int [B], the valid keys ``N_b`` of each utterance.
      g: the width of the guide (paper: 0.2).

    Returns:
      Scalar float32; 0 for an alignment on the diagonal ``n / N = t / T``.
    """
    alignment = tf.cast(alignment, tf.float32)
    if alignment.shape.rank != 3:
        raise ValueError(
            f"alignment must have shape [batch, queries, keys], got {alignment.shape}."
        )
    shape = tf.shape(alignment)
    weights, _ = guided_attention_weights(key_length, query_length, shape[2], shape[1], g)
    penalty = tf.reduce_sum(alignment * tf.transpose(weights, [0, 2, 1]))
    queries = tf.reduce_sum(
        tf.minimum(tf.cast(query_length, tf.float32), tf.cast(shape[1], tf.float32))
    )
    return penalty / tf.maximum(queries, 1.0)
