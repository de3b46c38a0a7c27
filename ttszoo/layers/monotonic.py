"""Monotonic alignment recursions: stepwise monotonic attention and Raffel monotonic attention.

Pure TensorFlow functions, float32 inside, usable under ``tf.function(jit_compile=True)``: every
loop is a ``tf.scan`` over a static number of steps.

Stepwise monotonic attention (He, Deng, He 2019, "Robust Sequence-to-Sequence Acoustic Modeling
with Stepwise Monotonic Attention for Neural TTS", arXiv 1906.00672). At output step ``i`` the
alignment over memory index ``j`` is

    alpha[i, j] = alpha[i-1, j] * p[i, j] + alpha[i-1, j-1] * (1 - p[i, j-1]),   alpha[i-1, -1] = 0

where ``p = sigmoid(stay_logit)`` is the probability of staying on memory entry ``j`` and
``1 - p`` the probability of moving one entry on. ``alpha[-1]`` is the initial alignment (one-hot
at ``j = 0`` when none is given).

End of memory. The original recursion leaks: the mass at the last entry that "moves on" leaves
the memory. ``end_of_memory="keep"`` (the ttszoo default) gives the last valid entry a stay
probability of one, so the alignment always sums to the initial mass; ``"leak"`` reproduces the
author code, where ``sum_j alpha[i, j] = sum_j alpha[i-1, j] - alpha[i-1, N-1] (1 - p[i, N-1])``.
In both rules nothing enters the padded entries ``j >= length``.

Raffel monotonic attention (Raffel, Luong, Liu, Weiss, Eck 2017, "Online and Linear-Time Attention
by Enforcing Monotonic Alignments", arXiv 1704.00784) is the one-step ``raffel_monotonic_attention``
with its exact recursive form, its closed (parallel) form and its hard form.
"""

import numpy as np
import tensorflow as tf

from ttszoo.errors import InvalidInputError

SPACES = ("log", "probability")
END_OF_MEMORY_RULES = ("keep", "leak")
RAFFEL_MODES = ("recursive", "parallel", "hard")

# A finite stand-in for log(0): keeps -inf (and inf - inf = nan) out of differentiated paths.
LOG_ZERO = -1e9


def check_choice(name, value, choices):
    """Raises ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {choices}, got {value!r}.")


def _shift_right(x, fill):
    """Shifts ``x`` [B, N] one step to the right along N, putting ``fill`` at index 0."""
    return tf.concat([tf.fill(tf.shape(x[:, :1]), tf.cast(fill, x.dtype)), x[:, :-1]], axis=1)


def _log_add_exp(a, b):
    """log(exp(a) + exp(b)) with finite values and gradients for any finite a, b."""
    larger = tf.maximum(a, b)
    return larger + tf.math.log1p(tf.exp(-tf.abs(a - b)))


def _end_of_memory_masks(key_lengths, num_keys):
    """Boolean [B, N] masks: ``at_or_after_last`` (j >= length - 1) and ``valid`` (j < length)."""
    positions = tf.range(num_keys)[tf.newaxis, :]
    lengths = tf.cast(key_lengths, tf.int32)[:, tf.newaxis]
    return positions >= lengths - 1, positions < lengths


def _default_initial_alignment(batch, num_keys):
    return tf.one_hot(tf.zeros([batch], tf.int32), num_keys, dtype=tf.float32)


def _prepare(stay_logits, initial_alignment, key_lengths, end_of_memory):
    """Validates the arguments and returns float32 tensors and the [B, N] end-of-memory masks."""
    check_choice("end_of_memory", end_of_memory, END_OF_MEMORY_RULES)
    stay_logits = tf.convert_to_tensor(stay_logits)
    if stay_logits.shape.rank != 3:
        raise ValueError(
            "stay_logits must have shape [batch, steps, keys], got shape "
            f"{stay_logits.shape}. Add a batch axis for a single sequence."
        )
    stay_logits = tf.cast(stay_logits, tf.float32)
    shape = tf.shape(stay_logits)
    batch, num_keys = shape[0], shape[2]
    if initial_alignment is None:
        initial_alignment = _default_initial_alignment(batch, num_keys)
    initial_alignment = tf.cast(initial_alignment, tf.float32)
    if initial_alignment.shape.rank != 2:
        raise ValueError(
            f"initial_alignment must have shape [batch, keys], got shape {initial_alignment.shape}."
        )
    if key_lengths is None:
        key_lengths = tf.fill([batch], num_keys)
    last_or_after, valid = _end_of_memory_masks(key_lengths, num_keys)
    return stay_logits, initial_alignment, last_or_after, valid


def _transition_log_probabilities(stay_logits, last_or_after, valid, end_of_memory):
    """log p(stay) and log p(move) [B, T, N] after the end-of-memory rule."""
    last_or_after = last_or_after[:, tf.newaxis, :]
    valid = valid[:, tf.newaxis, :]
    # Padded logits may be huge (masked energies); they are replaced below, so zero them first.
    stay_logits = tf.where(valid, stay_logits, tf.zeros_like(stay_logits))
    log_stay = tf.math.log_sigmoid(stay_logits)
    log_move = tf.math.log_sigmoid(-stay_logits)
    log_zero = tf.fill(tf.shape(stay_logits), LOG_ZERO)
    if end_of_memory == "keep":
        log_stay = tf.where(last_or_after, tf.zeros_like(log_stay), log_stay)
    else:
        log_stay = tf.where(valid, log_stay, log_zero)
    log_move = tf.where(last_or_after, log_zero, log_move)
    return log_stay, log_move


def _shift_left(x):
    """Shifts ``x`` [..., N] one step to the left along N, putting 0 at index N-1."""
    return tf.concat([x[..., 1:], tf.zeros_like(x[..., :1])], axis=-1)


def _adjoint(stay, move, upstream):
    """Reverse-mode adjoints of the alignments, ``g[i] = dL/dalpha[i]`` in total, [T, B, N].

    ``alpha[i+1]`` depends on ``alpha[i]`` through ``g[i] = up[i] + g[i+1] * P[i+1] +
    shift_left(g[i+1]) * M[i+1]``; one reverse ``tf.scan`` over the steps.
    """

    def backward_step(later, elements):
        step_upstream, step_stay, step_move = elements
        return step_upstream + later * step_stay + _shift_left(later) * step_move

    earlier = tf.scan(
        backward_step,
        (upstream[:-1], stay[1:], move[1:]),
        initializer=upstream[-1],
        reverse=True,
    )
    return tf.concat([earlier, upstream[-1:]], axis=0)


# The recursions carry their own gradients: a reverse scan over the saved alignments. Autodiff
# through tf.scan under XLA accumulates every step's state in stacked buffers and grows faster
# than linearly with the sequence length (see benchmarks/sma_speed.py).


@tf.custom_gradient
def _probability_space_recursion(stay, move, initial):
    """[T, B, N] stay / move probabilities and [B, N] start -> [T, B, N] alignments."""

    def probability_step(previous, transition):
        step_stay, step_move = transition
        return previous * step_stay + _shift_right(previous * step_move, 0.0)

    alignment = tf.scan(probability_step, (stay, move), initializer=initial)

    def gradient(upstream):
        previous = tf.concat([initial[tf.newaxis], alignment[:-1]], axis=0)
        adjoint = _adjoint(stay, move, upstream)
        later = _shift_left(adjoint)
        d_initial = adjoint[0] * stay[0] + later[0] * move[0]
        return adjoint * previous, later * previous, d_initial

    return alignment, gradient


@tf.custom_gradient
def _log_space_recursion(log_stay, log_move, log_initial):
    """[T, B, N] log stay / move probabilities and [B, N] log start -> [T, B, N] alignments."""

    def log_step(previous, transition):
        step_log_stay, step_log_move = transition
        moved = _shift_right(previous + step_log_move, LOG_ZERO)
        return _log_add_exp(previous + step_log_stay, moved)

    log_alignment = tf.scan(log_step, (log_stay, log_move), initializer=log_initial)
    alignment = tf.exp(log_alignment)

    def gradient(upstream):
        log_previous = tf.concat([log_initial[tf.newaxis], log_alignment[:-1]], axis=0)
        stay, move = tf.exp(log_stay), tf.exp(log_move)
        adjoint = _adjoint(stay, move, upstream)
        later = _shift_left(adjoint)
        d_log_stay = adjoint * tf.exp(log_previous + log_stay)
        d_log_move = later * tf.exp(log_previous + log_move)
        d_log_initial = (adjoint[0] * stay[0] + later[0] * move[0]) * tf.exp(log_initial)
        return d_log_stay, d_log_move, d_log_initial

    return alignment, gradient


def stepwise_monotonic_alignment(
    stay_logits, initial_alignment=None, key_lengths=None, space="log", end_of_memory="keep"
):
    """Soft stepwise monotonic alignment of He et al. 2019 (arXiv 1906.00672), eq. (6).

    Args:
      stay_logits: [B, T, N] pre-sigmoid stay logits ``e[i, j]`` of output step i and memory
        entry j (noise, if any, already added). Values at padded entries are ignored.
      initial_alignment: [B, N] alignment before the first step; one-hot at entry 0 if None.
      key_lengths: [B] int number of valid memory entries (padding is at the end); N if None.
      space: "log" (default) runs the recursion on log-alignments with ``log_sigmoid`` and a
        stable log-add-exp, so long diagonals do not underflow; "probability" runs it on the
        alignments themselves, as the author code does. Both give the same values.
      end_of_memory: "keep" (default) or "leak", see the module docstring.

    Returns:
      [B, T, N] float32 alignment ``alpha[i]`` after each step ``i``; zero at padded entries.
    """
    check_choice("space", space, SPACES)
    stay_logits, initial_alignment, last_or_after, valid = _prepare(
        stay_logits, initial_alignment, key_lengths, end_of_memory
    )
    log_stay, log_move = _transition_log_probabilities(
        stay_logits, last_or_after, valid, end_of_memory
    )
    # Steps first for tf.scan: [T, B, N].
    log_stay = tf.transpose(log_stay, [1, 0, 2])
    log_move = tf.transpose(log_move, [1, 0, 2])
    valid_float = tf.cast(valid, tf.float32)
    initial_alignment = initial_alignment * valid_float

    if space == "log":
        positive = initial_alignment > 0
        log_initial = tf.where(
            positive, tf.math.log(tf.maximum(initial_alignment, 1e-30)), LOG_ZERO
        )
        alignment = _log_space_recursion(log_stay, log_move, log_initial)
    else:
        # exp(LOG_ZERO) is exactly 0 in float32, so the end rule carries over unchanged.
        alignment = _probability_space_recursion(
            tf.exp(log_stay), tf.exp(log_move), initial_alignment
        )
    return tf.transpose(alignment, [1, 0, 2]) * valid_float[:, tf.newaxis, :]


def stepwise_monotonic_hard_alignment(
    stay_logits, initial_alignment=None, key_lengths=None, end_of_memory="keep"
):
    """Hard stepwise monotonic alignment for inference (He et al. 2019, author code "hard").

    The stay probability is a hard sigmoid ``p = 1[stay_logit > 0]``. At each step the one-hot
    alignment stays where it is if ``sum_j p[i, j] * alpha[i-1, j] > 0.5`` and moves one entry on
    otherwise. With ``end_of_memory="keep"`` it never moves past the last valid entry; with
    ``"leak"`` moving past it leaves an all-zero alignment.

    Args:
      stay_logits: [B, T, N] stay logits (no noise).
      initial_alignment: [B, N] one-hot start; one-hot at entry 0 if None.
      key_lengths: [B] int number of valid memory entries; N if None.
      end_of_memory: "keep" (default) or "leak".

    Returns:
      [B, T, N] float32 one-hot (or all-zero after a leak) alignments.
    """
    stay_logits, initial_alignment, last_or_after, valid = _prepare(
        stay_logits, initial_alignment, key_lengths, end_of_memory
    )
    stay = tf.cast(stay_logits > 0, tf.float32)
    if end_of_memory == "keep":
        stay = tf.where(last_or_after[:, tf.newaxis, :], tf.ones_like(stay), stay)
    valid_float = tf.cast(valid, tf.float32)

    def hard_step(previous, step_stay):
        stays = tf.reduce_sum(step_stay * previous, axis=1, keepdims=True) > 0.5
        return tf.where(stays, previous, _shift_right(previous, 0.0) * valid_float)

    alignment = tf.scan(
        hard_step, tf.transpose(stay, [1, 0, 2]), initializer=initial_alignment * valid_float
    )
    return tf.transpose(alignment, [1, 0, 2])


def safe_cumprod(x, axis, exclusive=False):
    """Float32 cumulative product computed as exp(cumsum(log(x))), x clipped to [tiny, 1]."""
    x = tf.cast(x, tf.float32)
    tiny = np.finfo(np.float32).tiny
    return tf.exp(
        tf.cumsum(tf.math.log(tf.clip_by_value(x, tiny, 1.0)), axis=axis, exclusive=exclusive)
    )


def raffel_monotonic_attention(p_choose, previous_attention, mode="recursive"):
    """One step of Raffel et al. 2017 monotonic attention (arXiv 1704.00784), expected alignment.

    Args:
      p_choose: [B, N] probability of stopping ("choosing") at memory entry j.
      previous_attention: [B, N] attention of the previous output step; one-hot at entry 0 for
        the first step.
      mode: "recursive" is exact: ``q[j] = (1 - p[j-1]) q[j-1] + prev[j]``, ``alpha = p q``, a
        ``tf.scan`` over N. "parallel" is the closed form
        ``alpha = p * cumprod(1 - p) * cumsum(prev / cumprod(1 - p))`` with exclusive products;
        it is fast but inexact when N is long or p is close to 0 or 1. "hard" needs p in {0, 1}
        and gives the one-hot first entry at or after the previous attention with p = 1.

    Returns:
      [B, N] float32 attention of this step (it may sum to less than one: the mass that passes
      every entry is lost).
    """
    check_choice("mode", mode, RAFFEL_MODES)
    p_choose = tf.cast(p_choose, tf.float32)
    previous_attention = tf.cast(previous_attention, tf.float32)
    if p_choose.shape.rank != 2 or previous_attention.shape.rank != 2:
        raise ValueError(
            "p_choose and previous_attention must have shape [batch, keys], got "
            f"{p_choose.shape} and {previous_attention.shape}."
        )
    if mode == "recursive":
        skip = _shift_right(1.0 - p_choose, 0.0)

        def carry_step(carried, elements):
            step_skip, step_previous = elements
            return step_skip * carried + step_previous

        carried = tf.scan(
            carry_step,
            (tf.transpose(skip), tf.transpose(previous_attention)),
            initializer=tf.zeros_like(previous_attention[:, 0]),
        )
        return p_choose * tf.transpose(carried)
    if mode == "parallel":
        kept = safe_cumprod(1.0 - p_choose, axis=1, exclusive=True)
        return (
            p_choose
            * kept
            * tf.cumsum(previous_attention / tf.clip_by_value(kept, 1e-10, 1.0), axis=1)
        )
    p_choose = p_choose * tf.cumsum(previous_attention, axis=1)
    return p_choose * tf.math.cumprod(1.0 - p_choose, axis=1, exclusive=True)
