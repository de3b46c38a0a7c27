"""DCTTS losses: L1 + binary divergence on logits, and the guided attention loss.

Tachibana et al. 2017 (arXiv 1710.08969), docs/references.md, DCTTS:

* ``L_spec(Y | S) = E|Y - S| + D_bin(Y | S)`` with
  ``D_bin = E[-S log Y - (1 - S) log(1 - Y)] - H(S) = E[sigmoid_CE(logits, S)] + const``,
  computed from the logits for stability;
* ``L_att(A) = E_nt[A_nt W_nt]`` with ``W_nt = 1 - exp(-(n/N - t/T)^2 / (2 g^2))``, ``g = 0.2``,
  using each utterance's own text length ``N`` and frame count ``T`` (the paper; dc_tts uses the
  fixed ``max_N x max_T`` grid), averaged over the unpadded ``(n, t)`` cells only.
All losses are float32 whatever the compute dtype.
"""

import tensorflow as tf

from ttszoo.layers.guided_attention import guided_attention_weights


def _masked_mean(values, mask):
    """Mean of ``values`` [B, T, C] over the frames where ``mask`` [B, T] is 1 (and all C)."""
    mask = tf.cast(mask, tf.float32)[..., None]
    count = tf.reduce_sum(mask) * tf.cast(tf.shape(values)[-1], tf.float32)
    return tf.reduce_sum(values * mask) / tf.maximum(count, 1.0)


def spectrogram_losses(logits, target, mask):
    """L1 and binary divergence between ``sigmoid(logits)`` and ``target``.

    Args:
      logits: [B, T, C] predicted logits.
      target: [B, T, C] normalised spectrogram in [0, 1].
      mask: [B, T], 1 for real frames, 0 for padding.

    Returns:
      ``(l1, binary_divergence)``, float32 scalars averaged over real frames and channels.
    """
    logits = tf.cast(logits, tf.float32)
    target = tf.cast(target, tf.float32)
    l1 = _masked_mean(tf.abs(tf.sigmoid(logits) - target), mask)
    divergence = _masked_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits), mask
    )
    return l1, divergence


def guided_attention_loss(alignment, text_length, frame_length, g=0.2):
    """``sum(A * W) / count`` over the real ``(n, t)`` cells of the batch.

    Args:
      alignment: [B, N, T] attention weights (each column a distribution over n).
      text_length, frame_length: int [B].
      g: the guide's width.

    Returns:
      A float32 scalar.
    """
    alignment = tf.cast(alignment, tf.float32)
    weights, mask = guided_attention_weights(
        text_length, frame_length, tf.shape(alignment)[1], tf.shape(alignment)[2], g
    )
    return tf.reduce_sum(alignment * weights) / tf.maximum(tf.reduce_sum(mask), 1.0)
