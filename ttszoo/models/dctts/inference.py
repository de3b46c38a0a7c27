"""Autoregressive Text2Mel inference: forcibly incremental attention, stop rule, cached steps.

Tachibana et al. 2017 (arXiv 1710.08969), docs/references.md, DCTTS.

* **Forcibly incremental attention** (the paper): ``n_t = argmax_n A_nt``; when
  ``n_t - n_{t-1}`` falls outside ``{-1, 0, 1, 2, 3}`` the column is replaced by a one-hot at
  ``n_{t-1} + 1`` (clamped to the last symbol). Before the first frame ``n_{-1} = -1`` (before
  the text), so frame 0 may attend symbols 0, 1 or 2.
* **Windowed attention** (Kyubyong/dc_tts, ``attention_mode="window"``): scores of symbols
  outside ``[n_{t-1}, n_{t-1} + window)`` are masked before the softmax; ``n_{-1} = 0``.
* **Stop rule**: an utterance ends at the first frame whose attention peak is on its last
  symbol (the end-of-sequence token); ``max_steps`` is a guard, so synthesis never hangs.
* **Cached steps**: each step runs the causal AudioEnc and AudioDec on one frame only, with one
  queue of past inputs per causal convolution (``DilatedConv1D.step``), so the cost of a step
  does not grow with the number of frames already made; the text is encoded once.
"""

import tensorflow as tf

ATTENTION_MODES = ("paper", "window", "none")
_MASKED = -1e9


def forcibly_incremental_attention(probabilities, previous, text_length, back=1, forward=3):
    """The paper's rule on one decoder step.

    Args:
      probabilities: float [B, N], the attention over the symbols at step t.
      previous: int32 [B], ``n_{t-1}``.
      text_length: int32 [B], each text's number of symbols.
      back, forward: the allowed move is ``-back <= n_t - n_{t-1} <= forward``.

    Returns:
      ``(probabilities [B, N], positions int32 [B], forced bool [B])``: the kept or forced
      attention, its peak, and whether the rule replaced the column.
    """
    position = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    move = position - previous
    forced = (move < -back) | (move > forward)
    target = tf.minimum(previous + 1, text_length - 1)
    one_hot = tf.one_hot(target, tf.shape(probabilities)[-1], dtype=probabilities.dtype)
    probabilities = tf.where(forced[:, None], one_hot, probabilities)
    return probabilities, tf.where(forced, target, position), forced


def windowed_scores(scores, previous, window):
    """dc_tts' window: keeps the scores of symbols ``previous <= n < previous + window``.

    Args:
      scores: float [B, N] attention logits.
      previous: int32 [B], the previous peak.
      window: int, the number of symbols allowed.

    Returns:
      float [B, N], the others set to -1e9.
    """
    n = tf.range(tf.shape(scores)[-1])[None, :]
    allowed = (n >= previous[:, None]) & (n < previous[:, None] + window)
    return tf.where(allowed, scores, tf.cast(_MASKED, scores.dtype))


def synthesize_autoregressively(
    model, text_ids, max_steps, attention_mode="paper", window=3, stop=True
):
    """Runs ``Text2Mel`` frame by frame from text ids.

    Args:
      model: a built ``Text2Mel``.
      text_ids: int32 [B, N], 0 = padding, each text ending with its end-of-sequence id.
      max_steps: int, the most decoder frames (reduced frames) to make.
      attention_mode: ``"paper"`` (forcibly incremental), ``"window"`` or ``"none"``.
      window: the window size of ``"window"``.
      stop: apply the stop rule; ``False`` always makes ``max_steps`` frames (benchmarks).

    Returns:
      dict: ``"reduced_mel"`` float32 [B, T, F] (zero after each utterance's end),
      ``"alignment"`` float32 [B, N, T], ``"reduced_length"`` int32 [B] (frames up to and with
      the stop frame, or ``max_steps``), ``"stopped"`` bool [B] (True: the stop rule ended the
      utterance; False: the ``max_steps`` guard did), ``"forced"`` bool [B, T] (the step's
      attention was replaced by forcibly incremental attention; False after the end) and
      ``"forced_steps"`` int32 [B] (their number).

    Long because the decoder step is a closure over the encoded text that ``tf.while_loop``
    traces as one body: the loop state it returns, the initial state and the unpacking after
    the loop must agree position by position, so they stay side by side in one function.
    """
    if attention_mode not in ATTENTION_MODES:
        raise ValueError(
            f"attention_mode must be one of {ATTENTION_MODES}, got {attention_mode!r}."
        )
    text_ids = tf.convert_to_tensor(text_ids, tf.int32)
    batch = tf.shape(text_ids)[0]
    keys, values = model.text_encoder(text_ids)
    text_mask = text_ids > 0
    text_length = tf.reduce_sum(tf.cast(text_mask, tf.int32), axis=1)
    start = -1 if attention_mode == "paper" else 0

    def step(t, frame, states, previous, done, lengths, frames, alignments, forced_steps):
        rule = {"forced": tf.zeros([batch], tf.bool)}

        def force(probabilities):
            probabilities, _, rule["forced"] = forcibly_incremental_attention(
                probabilities, previous, text_length
            )
            return probabilities

        query, logits, probabilities, states = model.decode_step(
            frame,
            states,
            keys,
            values,
            text_mask,
            score_fn=(lambda s: windowed_scores(s, previous, window))
            if attention_mode == "window"
            else None,
            attention_fn=force if attention_mode == "paper" else None,
        )
        position = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        reached = (position >= text_length - 1) & stop
        lengths = tf.where(~done & reached, t + 1, lengths)
        frame = tf.sigmoid(tf.cast(logits, tf.float32))[:, None]
        return (
            t + 1,
            frame,
            states,
            position,
            done | reached,
            lengths,
            frames.write(t, frame[:, 0]),
            alignments.write(t, probabilities),
            forced_steps.write(t, rule["forced"]),
        )

    def keep_going(t, frame, states, previous, done, *_):
        return (t < max_steps) & ~tf.reduce_all(done)

    loop = tf.while_loop(
        keep_going,
        step,
        (
            tf.constant(0),
            tf.zeros([batch, 1, model.n_mels], tf.float32),
            model.initial_decoder_state(batch),
            tf.fill([batch], start),
            tf.zeros([batch], tf.bool),
            tf.fill([batch], tf.cast(max_steps, tf.int32)),
            tf.TensorArray(tf.float32, size=0, dynamic_size=True),
            tf.TensorArray(tf.float32, size=0, dynamic_size=True),
            tf.TensorArray(tf.bool, size=0, dynamic_size=True),
        ),
    )
    steps, done, lengths, frames, alignments = loop[0], loop[4], loop[5], loop[6], loop[7]
    lengths = tf.minimum(lengths, steps)
    valid = tf.sequence_mask(lengths, steps, tf.float32)  # [B, T]
    mel = tf.transpose(frames.stack(), [1, 0, 2]) * valid[..., None]
    alignment = tf.transpose(alignments.stack(), [1, 2, 0]) * valid[:, None, :]
    forced = tf.transpose(loop[8].stack()) & (valid > 0)
    return {
        "reduced_mel": mel,
        "alignment": alignment,
        "reduced_length": lengths,
        "stopped": done,
        "forced": forced,
        "forced_steps": tf.reduce_sum(tf.cast(forced, tf.int32), axis=1),
    }
