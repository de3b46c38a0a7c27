"""DCTTS spectrogram losses: L1 and binary divergence, computed from the logits.

Tachibana et al. 2017 (arXiv 1710.08969; docs/references.md, DCTTS):
``L_spec(Y | S) = E|Y - S| + D_bin(Y | S)`` with
``D_bin = E[-S log Y - (1 - S) log(1 - Y)] - H(S) = E[sigmoid_CE(logits, S)] + const``,
computed from the logits for stability. Both are means over the real frames and all channels
(``ttszoo.losses.masked_mean``), float32 whatever the compute dtype. The guided attention loss
is ``ttszoo.losses.guided_attention_loss``, shared with Transformer TTS.
"""

import tensorflow as tf

from ttszoo.losses import masked_l1, masked_mean


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
    l1 = masked_l1(tf.sigmoid(logits), target, mask)
    divergence = masked_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits), mask
    )
    return l1, divergence
