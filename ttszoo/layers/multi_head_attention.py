"""Scaled dot-product multi-head attention with masks and an incremental key/value cache.

Vaswani et al. 2017, "Attention Is All You Need" (arXiv 1706.03762), section 3.2. The one
multi-head attention of ttszoo: Transformer TTS's self- and encoder-decoder attention use it, and
``StepwiseMonotonicMultiHeadAttention`` builds on it (same projections, masks and output path; its
own alignment).

It is not a subclass of ``keras.layers.MultiHeadAttention``: that layer keeps its projections as
``EinsumDense`` kernels ``[D, H, d]`` named ``query``/``key``/``value``/``attention_output`` and
masks through Keras' softmax, while the stepwise monotonic layer needs every head's masked
energies before the softmax (for its focus rate and stay logits) and replaces the per-head
softmax by one shared alignment, that is, it would override ``build``, ``call`` and the private
``_compute_attention`` whose signature Keras has changed between 3.x releases. The projections
here are ``Dense`` layers ``[D, H * d]`` named ``query_projection``, ``key_projection``,
``value_projection`` and ``output_projection``.

Incremental decoding: ``initial_cache(batch, max_length)`` allocates the keys and values of every
head, ``[B, H, max_length, d]``, already in the layout attention reads; ``cached_step`` projects
one new step, writes it at position ``index`` with a one-hot select (no transpose and no copy
into another layout: the same elementwise cost as the attention read, static shapes for XLA)
and attends to positions ``0 .. index``.
"""

import math

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers.validation import check_positive_int

# The energy of a masked key: finite, so a row with no valid key stays finite (a uniform softmax).
MASKED_ENERGY = -1e9


@keras.saving.register_keras_serializable(package="ttszoo")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention ``softmax(Q K^T / sqrt(key_dim)) V`` with masks and a decoding cache.

    Args:
      num_heads: number of heads H.
      key_dim: size of each query/key head.
      value_dim: size of each value head; ``key_dim`` if None.
      output_dim: size of the output; the query's last dimension if None.
      dropout: dropout rate on the output.
      use_bias: whether the projections have biases.
      kernel_initializer, bias_initializer: for the projections.

    Call args:
      query: [B, Tq, Dq] queries.
      key: [B, Tk, Dk] keys; ``query`` if None (self-attention).
      value: [B, Tk, Dv] values; ``key`` if None.
      query_mask: [B, Tq] bool, True for real queries: padded ones get zero output and weights.
        Filled from a Keras mask if present.
      key_mask: [B, Tk] bool, True for real keys (``value_mask`` when None).
      causal: query i attends only to keys 0..i (decoder self-attention).
      training: output dropout.

    Returns:
      ``(output [B, Tq, output_dim], weights [B, H, Tq, Tk] float32)``.
    """

    def __init__(
        self,
        num_heads=4,
        key_dim=64,
        value_dim=None,
        output_dim=None,
        dropout=0.1,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int(num_heads, "num_heads")
        check_positive_int(key_dim, "key_dim")
        check_positive_int(value_dim, "value_dim", allow_none=True)
        check_positive_int(output_dim, "output_dim", allow_none=True)
        if not 0.0 <= dropout < 1.0:
            raise InvalidInputError(f"dropout must be in [0, 1), got {dropout!r}.")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = key_dim if value_dim is None else value_dim
        self.output_dim = output_dim
        self.dropout = dropout
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _dense(self, units, name):
        return keras.layers.Dense(
            units,
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, query_shape, key_shape=None, value_shape=None):
        key_shape = query_shape if key_shape is None else key_shape
        value_shape = key_shape if value_shape is None else value_shape
        for name, shape in (("query", query_shape), ("key", key_shape), ("value", value_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"{name} must have shape [batch, time, features] with known features, "
                    f"got {tuple(shape)}."
                )
        output_dim = query_shape[-1] if self.output_dim is None else self.output_dim
        self.query_projection = self._dense(self.num_heads * self.key_dim, "query_projection")
        self.query_projection.build(query_shape)
        self.key_projection = self._dense(self.num_heads * self.key_dim, "key_projection")
        self.key_projection.build(key_shape)
        self.value_projection = self._dense(self.num_heads * self.value_dim, "value_projection")
        self.value_projection.build(value_shape)
        self.output_projection = self._dense(output_dim, "output_projection")
        self.output_projection.build((None, None, self.num_heads * self.value_dim))
        self.output_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="output_dropout"
        )

    # The pieces, shared with the stepwise monotonic layer.

    def split_heads(self, projected, head_dim):
        """[B, T, H * head_dim] -> [B, H, T, head_dim]."""
        shape = tf.shape(projected)
        split = tf.reshape(projected, [shape[0], shape[1], self.num_heads, head_dim])
        return tf.transpose(split, [0, 2, 1, 3])

    def project_query(self, query):
        """Queries [B, Tq, Dq] -> the heads' queries [B, H, Tq, key_dim]."""
        return self.split_heads(self.query_projection(query), self.key_dim)

    def project_memory(self, key, value=None):
        """Keys [B, Tk, Dk] and values [B, Tk, Dv] (``key`` if None) -> the heads' keys and values.

        Returns:
          ``(keys, values)``: [B, H, Tk, key_dim] and [B, H, Tk, value_dim]. Project a fixed
          memory once and attend to it step by step with ``attend_step``.
        """
        value = key if value is None else value
        keys = self.split_heads(self.key_projection(key), self.key_dim)
        values = self.split_heads(self.value_projection(value), self.value_dim)
        return keys, values

    def energies(self, queries, keys, valid=None):
        """Scaled dot products of the heads, float32 [B, H, Tq, Tk].

        ``valid`` (bool, broadcastable to [B, H, Tq, Tk]) marks the keys each query may attend
        to; the others get ``MASKED_ENERGY``.
        """
        energies = tf.cast(tf.einsum("bhqd,bhkd->bhqk", queries, keys), tf.float32)
        energies = energies / math.sqrt(self.key_dim)
        if valid is None:
            return energies
        return tf.where(valid, energies, MASKED_ENERGY)

    def combine(self, weights, values, query_valid=None, training=None):
        """Reads the values through the heads' weights and projects the concatenated heads.

        Args:
          weights: [B, H, Tq, Tk] attention weights; values: [B, H, Tk, value_dim].
          query_valid: [B, Tq] bool or None; padded queries get a zero output.
          training: output dropout.

        Returns:
          [B, Tq, output_dim] in the compute dtype.
        """
        context = tf.einsum("bhqk,bhkd->bqhd", tf.cast(weights, self.compute_dtype), values)
        shape = tf.shape(context)
        context = tf.reshape(context, [shape[0], shape[1], self.num_heads * self.value_dim])
        output = self.output_dropout(self.output_projection(context), training=training)
        if query_valid is not None:
            output = output * tf.cast(query_valid, output.dtype)[:, :, tf.newaxis]
        return output

    # The layer.

    def call(
        self,
        query,
        key=None,
        value=None,
        query_mask=None,
        key_mask=None,
        value_mask=None,
        causal=False,
        training=None,
    ):
        key = query if key is None else key
        key_mask = value_mask if key_mask is None else key_mask
        keys, values = self.project_memory(key, value)
        queries = self.project_query(query)
        num_queries, num_keys = tf.shape(query)[1], tf.shape(key)[1]
        valid = tf.ones([tf.shape(query)[0], 1, 1, num_keys], tf.bool)
        if key_mask is not None:
            valid = tf.logical_and(valid, tf.cast(key_mask, tf.bool)[:, tf.newaxis, tf.newaxis])
        if causal:
            lower = tf.range(num_keys)[tf.newaxis, :] <= tf.range(num_queries)[:, tf.newaxis]
            valid = tf.logical_and(valid, lower[tf.newaxis, tf.newaxis])
        weights = tf.nn.softmax(self.energies(queries, keys, valid), axis=-1)
        if query_mask is not None:
            weights = weights * tf.cast(query_mask, tf.float32)[:, tf.newaxis, :, tf.newaxis]
        output = self.combine(weights, values, query_mask, bool(training))
        return output, weights

    # Step-by-step decoding.

    def attend_step(self, query, keys, values, key_valid=None):
        """One query per example against projected keys and values (inference, no dropout).

        Args:
          query: [B, Dq]; keys, values: [B, H, Tk, d] (``project_memory`` or a cache);
          key_valid: [B, Tk] or [1, Tk] bool, True for the keys this query may attend to.

        Returns:
          ``(output [B, output_dim], weights [B, H, Tk] float32)``.
        """
        queries = self.project_query(query[:, tf.newaxis, :])
        valid = None
        if key_valid is not None:
            valid = tf.cast(key_valid, tf.bool)[:, tf.newaxis, tf.newaxis, :]
        weights = tf.nn.softmax(self.energies(queries, keys, valid), axis=-1)
        return self.combine(weights, values, training=False)[:, 0], weights[:, :, 0]

    def initial_cache(self, batch_size, max_length):
        """Empty keys and values for ``max_length`` decoding steps.

        Returns:
          ``(keys [B, H, max_length, key_dim], values [B, H, max_length, value_dim])``, zeros in
          the compute dtype; ``max_length`` may be a scalar int tensor.
        """
        keys = tf.zeros([batch_size, self.num_heads, max_length, self.key_dim], self.compute_dtype)
        values = tf.zeros(
            [batch_size, self.num_heads, max_length, self.value_dim], self.compute_dtype
        )
        return keys, values

    def cached_step(self, query, cache, index, key=None, value=None):
        """Causal self-attention of decoding step ``index`` through the cache (inference).

        Projects this step's key and value (from ``key``/``value``, or ``query`` when None),
        writes them at position ``index`` of the cache and attends from ``query`` to positions
        ``0 .. index``: step ``index`` of ``call(..., causal=True)``.

        Args:
          query: [B, Dq] this step's query; key: [B, Dk]; value: [B, Dv].
          cache: ``(keys, values)`` from ``initial_cache`` or the previous step.
          index: scalar int, the step (< max_length).

        Returns:
          ``(output [B, output_dim], weights [B, H, max_length] float32, new_cache)``.
        """
        key = query if key is None else key
        value = key if value is None else value
        new_keys, new_values = self.project_memory(key[:, tf.newaxis, :], value[:, tf.newaxis, :])
        cached_keys, cached_values = cache
        max_length = tf.shape(cached_keys)[2]
        positions = tf.range(max_length)
        write = (positions == index)[tf.newaxis, tf.newaxis, :, tf.newaxis]
        keys = tf.where(write, new_keys, cached_keys)
        values = tf.where(write, new_values, cached_values)
        filled = (positions <= index)[tf.newaxis, :]
        output, weights = self.attend_step(query, keys, values, filled)
        return output, weights, (keys, values)

    def compute_output_shape(self, query_shape, key_shape=None, value_shape=None):
        key_shape = query_shape if key_shape is None else key_shape
        output_dim = query_shape[-1] if self.output_dim is None else self.output_dim
        return (
            (query_shape[0], query_shape[1], output_dim),
            (query_shape[0], self.num_heads, query_shape[1], key_shape[1]),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "output_dim": self.output_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
