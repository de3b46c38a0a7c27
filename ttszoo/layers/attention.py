"""Stepwise monotonic multihead attention (SMA).

He, Deng, He 2019, "Robust Sequence-to-Sequence Acoustic Modeling with Stepwise Monotonic
Attention for Neural TTS" (arXiv 1906.00672), in the multihead form of
keonlee9420/Stepwise_Monotonic_Multihead_Attention: scaled dot-product heads, the FastSpeech focus
rate of every head (Ren et al. 2019, arXiv 1905.09263), a focused head, and the stepwise monotonic
expectation computed from that head's energies. It is a ``MultiHeadAttention``
(``ttszoo.layers.multi_head_attention``): the same projections, masks and output path, with the
alignment of step 4 below in place of the per-head softmax.
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers import monotonic as monotonic_ops
from ttszoo.layers.multi_head_attention import MultiHeadAttention


def focus_rate(attention, query_valid=None):
    """FastSpeech focus rate of each head: the mean over valid queries of the largest weight.

    Args:
      attention: [B, H, Tq, Tk] attention weights (each query row sums to one over keys).
      query_valid: [B, Tq] bool, True for real (unpadded) queries; all True if None.

    Returns:
      [B, H] float32 in [0, 1]; 1 means every query attends to a single key.
    """
    attention = tf.cast(attention, tf.float32)
    peaks = tf.reduce_max(attention, axis=-1)
    if query_valid is None:
        return tf.reduce_mean(peaks, axis=-1)
    valid = tf.cast(query_valid, tf.float32)[:, tf.newaxis, :]
    count = tf.maximum(tf.reduce_sum(valid, axis=-1), 1.0)
    return tf.reduce_sum(peaks * valid, axis=-1) / count


def focused_head_weights(rates, head_selection="argmax"):
    """Which heads are focused, as weights over heads that sum to one.

    Args:
      rates: [B, H] focus rates.
      head_selection: "argmax" picks the head with the highest rate per example; a float
        threshold picks every head whose rate is >= threshold and averages them (the head with the
        highest rate when none reaches it).

    Returns:
      [B, H] float32 weights, constant with respect to the rates (no gradient).
    """
    rates = tf.stop_gradient(tf.cast(rates, tf.float32))
    best = tf.one_hot(tf.argmax(rates, axis=-1), tf.shape(rates)[-1], dtype=tf.float32)
    if head_selection == "argmax":
        return best
    above = tf.cast(rates >= head_selection, tf.float32)
    chosen = tf.where(tf.reduce_sum(above, axis=-1, keepdims=True) > 0, above, best)
    return chosen / tf.reduce_sum(chosen, axis=-1, keepdims=True)


def _check_head_selection(head_selection):
    if head_selection == "argmax":
        return
    if (
        isinstance(head_selection, bool)
        or not isinstance(head_selection, int | float)
        or not 0.0 <= head_selection <= 1.0
    ):
        raise InvalidInputError(
            "head_selection must be 'argmax' or a focus-rate threshold in [0, 1], "
            f"got {head_selection!r}."
        )


def _check_static_shape(name, value, expected):
    """Raises ValueError when ``value``'s static shape contradicts ``expected`` (None: any)."""
    if value is None:
        return
    shape = tuple(tf.convert_to_tensor(value).shape)
    mismatch = len(shape) != len(expected) or any(
        want is not None and got is not None and want != got
        for got, want in zip(shape, expected, strict=False)
    )
    if mismatch:
        raise ValueError(f"{name} must have shape {tuple(expected)} (None: any size), got {shape}.")


@keras.saving.register_keras_serializable(package="ttszoo")
class StepwiseMonotonicMultiHeadAttention(MultiHeadAttention):
    """Multihead attention whose focused head drives a stepwise monotonic alignment.

    Queries are the output steps (for example decoder frames) and keys the memory (for example
    encoder states). The layer computes, in order:

    1. energies ``e[b, h, i, j] = <W_q q_i, W_k k_j>_h / sqrt(key_dim)`` and their softmax over
       keys (padded keys get a finite energy of -1e9, so a fully padded row stays finite);
    2. the focus rate ``F[b, h]`` of every head: mean over valid queries of ``max_j softmax``;
    3. the focused heads (``head_selection``: the argmax head, or every head above a threshold);
    4. when the ``monotonic`` switch is on, the stay logits ``s = mean_focused(e) + b`` with a
       learned scalar bias ``b`` (initialised to ``score_bias_init``; the author code's
       ``score_bias_init=3.5``), plus ``noise_std * N(0, 1)`` only when ``training``, and the
       stepwise monotonic recursion of He et al. 2019 over the query steps
       (``alpha[i, j] = alpha[i-1, j] p[i, j] + alpha[i-1, j-1] (1 - p[i, j-1])``,
       ``p = sigmoid(s)``), in log space (default) or probability space, in float32. All heads
       then read their values through this one alignment (as keonlee9420's SMA does). When the
       switch is off, every head uses its own softmax weights (plain multihead attention) and the
       returned alignment is the focused heads' softmax;
    5. the heads' contexts are concatenated, projected to ``output_dim`` and passed through
       dropout. No residual connection and no normalisation: the caller's block adds them.

    End of memory (``end_of_memory``): "keep" (default) gives the last valid key a stay
    probability of one, so alignments always sum to one; "leak" follows the author code, where
    the mass moving past the last key is lost. Differences from keonlee9420's module: the stay
    logit is the raw energy plus a bias (theirs is the sigmoid of the softmax probability, which
    bounds p to [0.5, 0.73] without noise); the recursion runs over the queries, so for their use
    (text queries, mel keys) pass the mel frames as queries; the returned alignment is the one
    used, after the monotonic step.

    The ``monotonic`` switch is a Python bool attribute read at trace time, like the reduction
    factor: flipping it costs one retrace / XLA compile of the training step
    (``ttszoo.training.MonotonicAttentionSwitch`` sets it and rebuilds Keras' step functions). A
    boolean variable read through ``tf.cond`` would avoid the retrace, but XLA cannot compile the
    gradient of a ``tf.cond`` whose branch holds the recursion's loop (``FakeParam`` has no XLA
    kernel), and computing both branches would pay for the recursion before it is switched on.

    Args:
      num_heads: number of heads H.
      key_dim: size of each query/key head.
      value_dim: size of each value head; ``key_dim`` if None.
      output_dim: size of the output; the query's last dimension if None.
      dropout: dropout rate on the output.
      noise_std: standard deviation of the pre-sigmoid Gaussian noise in training (keonlee 1.0;
        the author code uses 2.0). 0 disables it.
      score_bias_init: initial value of the learned stay-logit bias.
      head_selection: "argmax" or a focus-rate threshold in [0, 1].
      space: "log" (default) or "probability" form of the recursion.
      end_of_memory: "keep" (default) or "leak".
      monotonic: initial state of the monotonic switch.
      use_bias: whether the projections have biases.
      kernel_initializer, bias_initializer: for the projections.
      seed: seed of the noise.

    Call args:
      query: [B, Tq, Dq] queries, one per output step.
      key: [B, Tk, Dk] memory keys.
      value: [B, Tk, Dv] memory values; ``key`` if None.
      query_mask: [B, Tq] bool, True for real queries. Padded queries get zero alignment and
        zero output and do not count in the focus rate. Filled from a Keras mask if present.
      key_mask: [B, Tk] bool, True for real keys; padding must be at the end. ``value_mask`` is
        used when it is None.
      initial_alignment: [B, Tk] alignment before the first query, one-hot at key 0 if None.
      hard: use the hard monotonic rule (stay iff the focused stay logit at the current key is
        > 0), for inference only.
      training: adds the noise and the dropout.

    Returns:
      A tuple ``(output, alignment, focus_rate)``: output [B, Tq, output_dim]; alignment
      [B, Tq, Tk] float32, the monotonic alignment (switch on) or the focused heads' softmax
      (switch off); focus_rate [B, H] float32.

    For autoregressive decoding use ``project_memory`` once and ``step`` per output step.
    """

    def __init__(
        self,
        num_heads=4,
        key_dim=64,
        value_dim=None,
        output_dim=None,
        dropout=0.1,
        noise_std=1.0,
        score_bias_init=3.5,
        head_selection="argmax",
        space="log",
        end_of_memory="keep",
        monotonic=False,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(
            num_heads=num_heads,
            key_dim=key_dim,
            value_dim=value_dim,
            output_dim=output_dim,
            dropout=dropout,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        if noise_std < 0.0:
            raise InvalidInputError(f"noise_std must be >= 0, got {noise_std!r}.")
        _check_head_selection(head_selection)
        monotonic_ops.check_choice("space", space, monotonic_ops.SPACES)
        monotonic_ops.check_choice(
            "end_of_memory", end_of_memory, monotonic_ops.END_OF_MEMORY_RULES
        )
        self.noise_std = noise_std
        self.score_bias_init = score_bias_init
        self.head_selection = head_selection
        self.space = space
        self.end_of_memory = end_of_memory
        self.monotonic = bool(monotonic)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, query_shape, key_shape, value_shape=None):
        super().build(query_shape, key_shape, value_shape)
        self.score_bias = self.add_weight(
            name="score_bias",
            shape=(),
            initializer=keras.initializers.Constant(self.score_bias_init),
            dtype="float32",
            autocast=False,  # the stay logits are float32 under mixed precision too
        )

    def call(
        self,
        query,
        key,
        value=None,
        query_mask=None,
        key_mask=None,
        value_mask=None,
        initial_alignment=None,
        hard=False,
        training=None,
    ):
        value = key if value is None else value
        key_mask = value_mask if key_mask is None else key_mask
        if key.shape[1] is not None and value.shape[1] is not None:
            if key.shape[1] != value.shape[1]:
                raise ValueError(
                    f"key and value must have the same length, got {key.shape[1]} and "
                    f"{value.shape[1]}."
                )
        batch, num_queries, num_keys = query.shape[0], query.shape[1], key.shape[1]
        _check_static_shape("query_mask", query_mask, (batch, num_queries))
        _check_static_shape("key_mask", key_mask, (batch, num_keys))
        _check_static_shape("initial_alignment", initial_alignment, (batch, num_keys))
        queries = self.project_query(query)
        memory = self.project_memory(key, value)
        return self._attend(
            queries, memory, query_mask, key_mask, initial_alignment, hard, bool(training)
        )

    def step(self, query, memory, previous_alignment=None, key_mask=None, hard=False):
        """One autoregressive decoding step (inference: no noise, no dropout).

        Args:
          query: [B, Dq] the query of this output step.
          memory: ``project_memory(key, value)``.
          previous_alignment: [B, Tk] alignment of the previous step; one-hot at key 0 for the
            first step when None.
          key_mask: [B, Tk] bool, True for real keys.
          hard: use the hard monotonic rule.

        Returns:
          ``(output [B, output_dim], alignment [B, Tk], focus_rate [B, H])``; feed ``alignment``
          back as the next ``previous_alignment``. The focus rate, and so the focused head, is
          this step's own, whereas ``call`` averages it over all queries: the two agree for one
          head or for a threshold every head reaches (for example 0).
        """
        query = tf.convert_to_tensor(query)
        if len(query.shape) != 2:
            raise ValueError(f"step takes one query per example, [B, Dq]; got {query.shape}.")
        num_keys = memory[0].shape[2]
        _check_static_shape("key_mask", key_mask, (query.shape[0], num_keys))
        _check_static_shape("previous_alignment", previous_alignment, (query.shape[0], num_keys))
        queries = self.project_query(query[:, tf.newaxis, :])
        output, alignment, rate = self._attend(
            queries, memory, None, key_mask, previous_alignment, hard, False
        )
        return output[:, 0], alignment[:, 0], rate

    def _attend(self, queries, memory, query_mask, key_mask, initial_alignment, hard, training):
        if hard and training:
            raise ValueError("hard=True is for inference; call the layer with training=False.")
        keys, values = memory
        shape = tf.shape(queries)
        batch, num_queries, num_keys = shape[0], shape[2], tf.shape(keys)[2]
        query_valid = (
            tf.ones([batch, num_queries], tf.bool)
            if query_mask is None
            else tf.cast(query_mask, tf.bool)
        )
        key_valid = (
            tf.ones([batch, num_keys], tf.bool) if key_mask is None else tf.cast(key_mask, tf.bool)
        )
        energies = self.energies(queries, keys, key_valid[:, tf.newaxis, tf.newaxis, :])
        query_valid_float = tf.cast(query_valid, tf.float32)
        attention = tf.nn.softmax(energies, axis=-1) * query_valid_float[:, tf.newaxis, :, None]
        rates = focus_rate(attention, query_valid)
        head_weights = focused_head_weights(rates, self.head_selection)

        def monotonic_alignment():
            stay_logits = tf.einsum("bh,bhqk->bqk", head_weights, energies) + self.score_bias
            if training and self.noise_std > 0:
                stay_logits += self.noise_std * keras.random.normal(
                    tf.shape(stay_logits), seed=self.seed_generator
                )
            key_lengths = tf.reduce_sum(tf.cast(key_valid, tf.int32), axis=-1)
            if hard:
                alignment = monotonic_ops.stepwise_monotonic_hard_alignment(
                    stay_logits, initial_alignment, key_lengths, self.end_of_memory
                )
            else:
                alignment = monotonic_ops.stepwise_monotonic_alignment(
                    stay_logits, initial_alignment, key_lengths, self.space, self.end_of_memory
                )
            alignment = alignment * query_valid_float[:, :, tf.newaxis]
            head_attention = tf.repeat(alignment[:, tf.newaxis], self.num_heads, axis=1)
            return alignment, head_attention

        def softmax_alignment():
            return tf.einsum("bh,bhqk->bqk", head_weights, attention), attention

        alignment, head_attention = monotonic_alignment() if self.monotonic else softmax_alignment()
        output = self.combine(head_attention, values, query_valid, training)
        return output, alignment, rates

    def compute_output_shape(self, query_shape, key_shape, value_shape=None):
        output_dim = query_shape[-1] if self.output_dim is None else self.output_dim
        return (
            (query_shape[0], query_shape[1], output_dim),
            (query_shape[0], query_shape[1], key_shape[1]),
            (query_shape[0], self.num_heads),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "noise_std": self.noise_std,
                "score_bias_init": self.score_bias_init,
                "head_selection": self.head_selection,
                "space": self.space,
                "end_of_memory": self.end_of_memory,
                "monotonic": self.monotonic,
                "seed": self.seed,
            }
        )
        return config
