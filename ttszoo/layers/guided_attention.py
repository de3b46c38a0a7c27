"""Guided-attention weights (Tachibana et al. 2017, arXiv 1710.08969, eq. 4).

``W[n, t] = 1 - exp(-(n / N - t / T)^2 / (2 g^2))`` with each utterance's own ``N`` (text
symbols) and ``T`` (decoder steps): near zero on the diagonal, close to one far from it, so
``sum(A * W)`` penalises attention off the diagonal. DCTTS trains with it (its guided
attention loss) and Transformer TTS uses it for diagonal forcing in its first steps.
"""

import tensorflow as tf


def guided_attention_weights(text_length, frame_length, max_text, max_frames, g=0.2):
    """The penalty ``W`` [B, N, T] of each utterance, zero outside its ``N x T`` block.

    Args:
      text_length: int [B], ``N`` of each utterance.
      frame_length: int [B], ``T`` (decoder steps) of each utterance.
      max_text, max_frames: the padded sizes of the batch (ints or scalar tensors).
      g: the width of the guide (paper: 0.2).

    Returns:
      ``(weights, mask)``: float32 [B, max_text, max_frames] each; ``mask`` marks the real cells.
      Transpose both to ``[B, T, N]`` for attention laid out queries first.
    """
    n = tf.cast(tf.range(max_text), tf.float32)[None, :, None]
    t = tf.cast(tf.range(max_frames), tf.float32)[None, None, :]
    big_n = tf.cast(tf.maximum(text_length, 1), tf.float32)[:, None, None]
    big_t = tf.cast(tf.maximum(frame_length, 1), tf.float32)[:, None, None]
    weights = 1.0 - tf.exp(-tf.square(n / big_n - t / big_t) / (2.0 * g * g))
    mask = tf.cast(
        (n < tf.cast(text_length, tf.float32)[:, None, None])
        & (t < tf.cast(frame_length, tf.float32)[:, None, None]),
        tf.float32,
    )
    return weights * mask, mask
