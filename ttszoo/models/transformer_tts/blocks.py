"""Building blocks of Transformer TTS: encoder/decoder blocks, prenets and postnet.

Li, Liu, Liu, Zhao, Liu 2019, "Neural Speech Synthesis with Transformer Network"
(arXiv 1809.08895): a convolutional encoder prenet, a two-layer decoder prenet, Transformer blocks
with scaled sinusoidal positional encodings and a convolutional postnet. The blocks here use
pre-layer-normalisation (``x + f(LayerNorm(x))``), which trains more reliably in short CPU runs
than the paper's post-norm; the encoder and decoder end with a LayerNorm.

Every decoder block can run in parallel over all steps (teacher forcing) or one step at a time
with the key/value cache of ``ttszoo.layers.MultiHeadAttention`` (``DecoderBlock.step``), and
both give the same numbers.
"""

import keras
import tensorflow as tf

from ttszoo.layers import MultiHeadAttention, StepwiseMonotonicMultiHeadAttention
from ttszoo.layers.tracking import track_layers


def _dense(units, dtype_policy, name, activation=None):
    return keras.layers.Dense(units, activation=activation, dtype=dtype_policy, name=name)


@keras.saving.register_keras_serializable(package="ttszoo")
class FeedForward(keras.layers.Layer):
    """Position-wise ``Dense(hidden, relu) -> Dropout -> Dense(D) -> Dropout``: [B, T, D] -> same.

    Args:
      hidden_dim: inner size.
      dropout: dropout rate.
    """

    def __init__(self, hidden_dim=1024, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.dropout = dropout

    def build(self, inputs_shape):
        self.inner = _dense(self.hidden_dim, self.dtype_policy, "inner", "relu")
        self.inner.build(inputs_shape)
        self.outer = _dense(inputs_shape[-1], self.dtype_policy, "outer")
        self.outer.build((None, None, self.hidden_dim))
        self.inner_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.outer_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(self, inputs, training=None):
        hidden = self.inner_dropout(self.inner(inputs), training=training)
        return self.outer_dropout(self.outer(hidden), training=training)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim, dropout=self.dropout)
        return config


def _layer_norm(dtype_policy, name):
    return keras.layers.LayerNormalization(epsilon=1e-5, dtype=dtype_policy, name=name)


def _attention_sublayers(block, name, query_shape, key_shape, attention=None):
    """The pre-norm ``<name>_norm`` and attention ``name`` of ``block``, both built.

    ``attention`` defaults to a ``MultiHeadAttention`` with the block's heads, key size and
    dropout; the norm is built for the queries [B, T, D], the attention for queries and keys.
    """
    norm = _layer_norm(block.dtype_policy, f"{name}_norm")
    norm.build(query_shape)
    if attention is None:
        attention = MultiHeadAttention(
            num_heads=block.num_heads,
            key_dim=block.key_dim,
            dropout=block.dropout,
            dtype=block.dtype_policy,
            name=name,
        )
    attention.build(query_shape, key_shape)
    return norm, attention


def _feed_forward_sublayers(block, inputs_shape):
    """The pre-norm ``feed_forward_norm`` and ``FeedForward`` of ``block``, both built."""
    norm = _layer_norm(block.dtype_policy, "feed_forward_norm")
    norm.build(inputs_shape)
    feed_forward = FeedForward(
        block.feed_forward_dim, block.dropout, dtype=block.dtype_policy, name="feed_forward"
    )
    feed_forward.build(inputs_shape)
    return norm, feed_forward


@keras.saving.register_keras_serializable(package="ttszoo")
class EncoderBlock(keras.layers.Layer):
    """Pre-norm Transformer encoder block: self-attention and feed-forward, each residual.

    Call args: ``inputs`` [B, N, D], ``valid`` [B, N] bool (True for real symbols), ``training``.
    Returns ``(outputs [B, N, D] (zero at padding), attention weights [B, H, N, N])``.

    Args:
      num_heads, key_dim: attention heads and their size.
      feed_forward_dim: inner size of the feed-forward net.
      dropout: dropout rate of both sublayers.
    """

    def __init__(self, num_heads=4, key_dim=64, feed_forward_dim=1024, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.feed_forward_dim = feed_forward_dim
        self.dropout = dropout

    def build(self, inputs_shape):
        self.attention_norm, self.attention = _attention_sublayers(
            self, "attention", inputs_shape, inputs_shape
        )
        self.feed_forward_norm, self.feed_forward = _feed_forward_sublayers(self, inputs_shape)

    def call(self, inputs, valid=None, training=None):
        normed = self.attention_norm(inputs)
        attended, weights = self.attention(
            normed, normed, query_mask=valid, key_mask=valid, training=training
        )
        outputs = inputs + attended
        outputs = outputs + self.feed_forward(self.feed_forward_norm(outputs), training=training)
        if valid is not None:
            outputs = outputs * tf.cast(valid, outputs.dtype)[:, :, tf.newaxis]
        return outputs, weights

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            feed_forward_dim=self.feed_forward_dim,
            dropout=self.dropout,
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class DecoderBlock(keras.layers.Layer):
    """Pre-norm decoder block: causal self-attention, encoder-decoder attention, feed-forward.

    The encoder-decoder attention is a ``StepwiseMonotonicMultiHeadAttention`` when
    ``stepwise_monotonic`` (its ``monotonic`` switch, flipped during training by
    ``MonotonicAttentionSwitch``, decides between plain multihead attention and the stepwise
    monotonic alignment of He et al. 2019), and a plain ``MultiHeadAttention`` otherwise.

    Call args (teacher forcing, all steps at once):
      inputs: [B, T, D] decoder states; memory: [B, N, D] encoder outputs.
      query_mask: [B, T] bool, True for real steps; memory_mask: [B, N] bool, True for real symbols.
      training: dropout and the SMA noise.

    Returns:
      ``(outputs [B, T, D], alignment [B, T, N] float32)``: the SMA alignment (or, switch off,
      its focused heads' softmax), or for a plain layer the mean of its heads' weights.

    Incremental decoding: ``initial_state(memory, memory_mask, max_steps)`` builds the cache,
    ``step(inputs [B, D], state, index)`` runs step ``index`` and returns
    ``(outputs [B, D], alignment [B, N], new_state)``.

    Args:
      num_heads, key_dim: heads and head size of both attentions.
      feed_forward_dim: inner size of the feed-forward net.
      dropout: dropout rate.
      stepwise_monotonic: whether the encoder-decoder attention is SMA.
      sma_noise_std, sma_score_bias_init, sma_head_selection: the SMA layer's ``noise_std``,
        ``score_bias_init`` and ``head_selection`` (use a threshold every head reaches, such as
        0.0, or one head, so that step-by-step decoding picks the same heads as teacher forcing).
      monotonic: the SMA switch the layer is built with (later flipped on the SMA layer itself).
    """

    def __init__(
        self,
        num_heads=4,
        key_dim=64,
        feed_forward_dim=1024,
        dropout=0.1,
        stepwise_monotonic=False,
        sma_noise_std=1.0,
        sma_score_bias_init=3.5,
        sma_head_selection=0.0,
        monotonic=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.monotonic = monotonic
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.feed_forward_dim = feed_forward_dim
        self.dropout = dropout
        self.stepwise_monotonic = stepwise_monotonic
        self.sma_noise_std = sma_noise_std
        self.sma_score_bias_init = sma_score_bias_init
        self.sma_head_selection = sma_head_selection

    def build(self, inputs_shape, memory_shape):
        self.self_attention_norm, self.self_attention = _attention_sublayers(
            self, "self_attention", inputs_shape, inputs_shape
        )
        cross_attention = None  # None: _attention_sublayers makes a MultiHeadAttention
        if self.stepwise_monotonic:
            cross_attention = StepwiseMonotonicMultiHeadAttention(
                num_heads=self.num_heads,
                key_dim=self.key_dim,
                dropout=self.dropout,
                noise_std=self.sma_noise_std,
                score_bias_init=self.sma_score_bias_init,
                head_selection=self.sma_head_selection,
                monotonic=self.monotonic,
                dtype=self.dtype_policy,
                name="cross_attention",
            )
        self.cross_attention_norm, self.cross_attention = _attention_sublayers(
            self, "cross_attention", inputs_shape, memory_shape, cross_attention
        )
        self.feed_forward_norm, self.feed_forward = _feed_forward_sublayers(self, inputs_shape)

    def call(self, inputs, memory, query_mask=None, memory_mask=None, training=None):
        normed = self.self_attention_norm(inputs)
        attended, _ = self.self_attention(
            normed, normed, query_mask=query_mask, causal=True, training=training
        )
        outputs = inputs + attended
        normed = self.cross_attention_norm(outputs)
        if self.stepwise_monotonic:
            context, alignment, _ = self.cross_attention(
                normed, memory, query_mask=query_mask, key_mask=memory_mask, training=training
            )
        else:
            context, weights = self.cross_attention(
                normed, memory, query_mask=query_mask, key_mask=memory_mask, training=training
            )
            alignment = tf.reduce_mean(weights, axis=1)
        outputs = outputs + context
        outputs = outputs + self.feed_forward(self.feed_forward_norm(outputs), training=training)
        return outputs, alignment

    def initial_state(self, memory, memory_mask, max_steps):
        """The decoding state before step 0.

        Args:
          memory: [B, N, D] encoder outputs; memory_mask: [B, N] bool.
          max_steps: int (or scalar int tensor), the cache length.

        Returns:
          A dict: ``keys``/``values`` [B, H, max_steps, d] self-attention cache (step ``t``
          writes position ``t``, see ``MultiHeadAttention.cached_step``),
          ``memory_keys``/``memory_values`` [B, H, N, d] and ``alignment`` [B, N] (one-hot at
          symbol 0, the SMA start).
        """
        batch = tf.shape(memory)[0]
        keys, values = self.self_attention.initial_cache(batch, max_steps)
        memory_keys, memory_values = self.cross_attention.project_memory(memory)
        return {
            "keys": keys,
            "values": values,
            "memory_keys": memory_keys,
            "memory_values": memory_values,
            "alignment": tf.one_hot(tf.zeros([batch], tf.int32), tf.shape(memory)[1]),
        }

    def step(self, inputs, state, index, memory_mask, hard=False):
        """Decoder step ``index`` (scalar int) for ``inputs`` [B, D]; inference mode.

        Returns ``(outputs [B, D], alignment [B, N] float32, new_state)``.
        """
        normed = self.self_attention_norm(inputs)
        attended, _, (keys, values) = self.self_attention.cached_step(
            normed, (state["keys"], state["values"]), index
        )
        outputs = inputs + attended
        normed = self.cross_attention_norm(outputs)
        memory = (state["memory_keys"], state["memory_values"])
        if self.stepwise_monotonic:
            context, alignment, _ = self.cross_attention.step(
                normed, memory, state["alignment"], key_mask=memory_mask, hard=hard
            )
        else:
            context, weights = self.cross_attention.attend_step(normed, *memory, memory_mask)
            alignment = tf.reduce_mean(weights, axis=1)
        outputs = outputs + context
        outputs = outputs + self.feed_forward(self.feed_forward_norm(outputs))
        new_state = dict(state, keys=keys, values=values, alignment=alignment)
        return outputs, alignment, new_state

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            feed_forward_dim=self.feed_forward_dim,
            dropout=self.dropout,
            stepwise_monotonic=self.stepwise_monotonic,
            sma_noise_std=self.sma_noise_std,
            sma_score_bias_init=self.sma_score_bias_init,
            sma_head_selection=self.sma_head_selection,
            monotonic=self.monotonic,
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class EncoderPrenet(keras.layers.Layer):
    """Convolutional encoder prenet (Li et al. 2019, after Tacotron 2): conv -> norm -> ReLU.

    ``num_layers`` Conv1D(``channels``, ``kernel_size``, same) each followed by LayerNorm
    (instead of the paper's BatchNorm, so padded symbols never enter statistics), ReLU and
    dropout, then a linear projection to ``output_dim``.

    Call args: ``inputs`` [B, N, E] symbol embeddings, ``valid`` [B, N] bool, ``training``.
    Returns [B, N, output_dim], zero at padding.
    """

    def __init__(
        self, output_dim=256, channels=256, num_layers=3, kernel_size=5, dropout=0.1, **kwargs
    ):
        super().__init__(**kwargs)
        self.output_dim = output_dim
        self.channels = channels
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.dropout = dropout

    def build(self, inputs_shape):
        self.convolutions, self.norms = [], []
        shape = tuple(inputs_shape)
        for index in range(self.num_layers):
            conv = keras.layers.Conv1D(
                self.channels,
                self.kernel_size,
                padding="same",
                dtype=self.dtype_policy,
                name=f"conv_{index}",
            )
            conv.build(shape)
            shape = (shape[0], shape[1], self.channels)
            norm = _layer_norm(self.dtype_policy, f"norm_{index}")
            norm.build(shape)
            self.convolutions.append(conv)
            self.norms.append(norm)
        self.convolutions = track_layers(self, self.convolutions, "conv_{}")
        self.norms = track_layers(self, self.norms, "norm_{}")
        self.conv_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.projection = _dense(self.output_dim, self.dtype_policy, "projection")
        self.projection.build(shape)

    def call(self, inputs, valid=None, training=None):
        valid = 1.0 if valid is None else tf.cast(valid, self.compute_dtype)[:, :, tf.newaxis]
        hidden = inputs * valid
        for conv, norm in zip(self.convolutions, self.norms, strict=True):
            hidden = tf.nn.relu(norm(conv(hidden)))
            hidden = self.conv_dropout(hidden, training=training) * valid
        return self.projection(hidden) * valid

    def compute_output_shape(self, inputs_shape):
        return (*inputs_shape[:-1], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            output_dim=self.output_dim,
            channels=self.channels,
            num_layers=self.num_layers,
            kernel_size=self.kernel_size,
            dropout=self.dropout,
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class DecoderPrenet(keras.layers.Layer):
    """Decoder prenet: two ``Dense(hidden, relu) -> Dropout`` layers and a linear projection.

    Call args: ``inputs`` [B, T, n_mels] (or [B, n_mels]) previous frames, ``training``, and
    ``noise_seed``: an int32 [2] stateless seed, or None. Returns [B, T, output_dim] (or
    [B, output_dim]). In training the dropout runs as usual. Outside training it runs only when
    ``noise_seed`` is given, then with the same rate and a mask drawn from that seed: Tacotron
    2's inference noise (docs/references.md, Transformer TTS), reproducible for a given seed.
    Without a seed, inference is deterministic (as in the current as-ideas/TransformerTTS code).
    """

    def __init__(self, output_dim=256, hidden_dim=256, dropout=0.5, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = output_dim
        self.hidden_dim = hidden_dim
        self.dropout = dropout

    def build(self, inputs_shape):
        hidden_shape = (*inputs_shape[:-1], self.hidden_dim)
        self.first = _dense(self.hidden_dim, self.dtype_policy, "first", "relu")
        self.first.build(inputs_shape)
        self.second = _dense(self.hidden_dim, self.dtype_policy, "second", "relu")
        self.second.build(hidden_shape)
        self.projection = _dense(self.output_dim, self.dtype_policy, "projection")
        self.projection.build(hidden_shape)
        self.hidden_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(self, inputs, training=None, noise_seed=None):
        if training or noise_seed is None or self.dropout == 0:
            hidden = self.hidden_dropout(self.first(inputs), training=training)
            hidden = self.hidden_dropout(self.second(hidden), training=training)
            return self.projection(hidden)
        seeds = tf.random.experimental.stateless_split(tf.cast(noise_seed, tf.int32), 2)
        hidden = tf.nn.experimental.stateless_dropout(self.first(inputs), self.dropout, seeds[0])
        hidden = tf.nn.experimental.stateless_dropout(self.second(hidden), self.dropout, seeds[1])
        return self.projection(hidden)

    def compute_output_shape(self, inputs_shape):
        return (*inputs_shape[:-1], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(output_dim=self.output_dim, hidden_dim=self.hidden_dim, dropout=self.dropout)
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class Postnet(keras.layers.Layer):
    """Residual convolutional postnet (Tacotron 2, Li et al. 2019).

    ``num_layers`` Conv1D(same) layers, tanh between them (none after the last), dropout; the
    result is added to the input mel.

    Call args: ``inputs`` [B, T, n_mels] mel from the reduction projection, ``valid`` [B, T] bool,
    ``training``. Returns the refined mel [B, T, n_mels].
    """

    def __init__(self, channels=256, num_layers=5, kernel_size=5, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.dropout = dropout

    def build(self, inputs_shape):
        self.convolutions = []
        shape = tuple(inputs_shape)
        for index in range(self.num_layers):
            last = index == self.num_layers - 1
            conv = keras.layers.Conv1D(
                inputs_shape[-1] if last else self.channels,
                self.kernel_size,
                padding="same",
                dtype=self.dtype_policy,
                name=f"conv_{index}",
            )
            conv.build(shape)
            shape = (shape[0], shape[1], self.channels)
            self.convolutions.append(conv)
        self.convolutions = track_layers(self, self.convolutions, "conv_{}")
        self.conv_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(self, inputs, valid=None, training=None):
        valid = 1.0 if valid is None else tf.cast(valid, self.compute_dtype)[:, :, tf.newaxis]
        hidden = inputs * valid
        for index, conv in enumerate(self.convolutions):
            hidden = conv(hidden)
            if index < self.num_layers - 1:
                hidden = tf.tanh(hidden)
            hidden = self.conv_dropout(hidden, training=training) * valid
        return inputs + hidden

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels,
            num_layers=self.num_layers,
            kernel_size=self.kernel_size,
            dropout=self.dropout,
        )
        return config
