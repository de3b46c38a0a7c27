"""DCTTS convolutions: dilated causal / non-causal Conv1D, highway Conv1D, transposed Conv1D.

Tachibana, Uenoyama, Aihara 2017, "Efficiently Trainable Text-to-Speech System Based on Deep
Convolutional Networks with Guided Attention" (arXiv 1710.08969), with the block layout of
Kyubyong/dc_tts (REFERENCES §5.2): ``conv -> norm -> activation -> dropout``.

* ``DilatedConv1D`` is the paper's ``C^{o<-i}_{k*delta}``. ``causal=True`` left-pads
  ``(k - 1) * delta`` frames (output ``t`` sees inputs ``<= t`` only); otherwise the padding is
  split ("same"). Causal layers also decode one frame at a time (``step``) from a queue of their
  last ``(k - 1) * delta`` inputs, so autoregressive inference never re-runs the prefix.
* ``HighwayConv1D`` is ``HC^{d<-d}_{k*delta}``: ``[H1, H2] = C^{2d<-d}(X)``,
  ``Y = sigmoid(H1) * f(H2) + (1 - sigmoid(H1)) * X`` with ``f`` the identity by default
  (dc_tts; ``"relu"`` is the reading of the paper note, REFERENCES §5.1).
* ``TransposedConv1D`` is the paper's ``D`` (SSRN's time upsampling).

Options shared by all three: ``norm`` in ``NORMS`` (``"layer"``: over channels per frame;
``"batch"``; ``"weight"``: the kernel reparametrised as ``g * v / ||v||``; ``"group"``: over
channel groups per frame, so it stays causal; ``"none"``), ``dropout`` and, for the 1-D convs,
``separable`` (a depthwise dilated conv followed by a pointwise one).
"""

import keras
import tensorflow as tf

NORMS = ("layer", "batch", "weight", "group", "none")
HIGHWAY_ACTIVATIONS = ("linear", "relu")


def _check_common(norm, dropout, groups):
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}.")


def _weight_normalized(direction, gain, axes):
    """``gain * direction / ||direction||`` with the norm over ``axes`` (Salimans & Kingma 2016)."""
    return direction * (
        gain * tf.math.rsqrt(tf.reduce_sum(tf.square(direction), axes, keepdims=True) + 1e-12)
    )


@keras.saving.register_keras_serializable(package="ttszoo")
class FrameGroupNormalization(keras.layers.Layer):
    """Group normalisation over channel groups of each frame separately (causal-safe).

    Keras' ``GroupNormalization`` pools statistics over time too, which would let a causal
    decoder see the future; this one normalises each frame on its own (Wu & He 2018 with the
    spatial extent of one frame).

    Args:
      groups: number of channel groups; must divide the channel count.
      epsilon: added to the variance.

    Shapes: ``[..., C] -> [..., C]``.
    """

    def __init__(self, groups=8, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(
                f"FrameGroupNormalization: groups={self.groups} must divide the {channels} "
                "channels; pick another groups value."
            )
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        dtype = inputs.dtype
        x = tf.cast(inputs, tf.float32)
        shape = tf.shape(x)
        grouped = tf.reshape(
            x, tf.concat([shape[:-1], [self.groups, x.shape[-1] // self.groups]], 0)
        )
        mean, variance = tf.nn.moments(grouped, axes=[-1], keepdims=True)
        grouped = (grouped - mean) * tf.math.rsqrt(variance + self.epsilon)
        x = tf.reshape(grouped, shape) * tf.cast(self.gamma, tf.float32) + tf.cast(
            self.beta, tf.float32
        )
        return tf.cast(x, dtype)

    def get_config(self):
        config = super().get_config()
        config.update(groups=self.groups, epsilon=self.epsilon)
        return config


def _make_norm(layer, kind, channels, name):
    """The per-frame activation normalisation of ``kind`` built for ``channels`` (or None)."""
    if kind == "layer":
        norm = keras.layers.LayerNormalization(axis=-1, dtype=layer.dtype_policy, name=name)
    elif kind == "batch":
        norm = keras.layers.BatchNormalization(axis=-1, dtype=layer.dtype_policy, name=name)
    elif kind == "group":
        norm = FrameGroupNormalization(layer.groups, dtype=layer.dtype_policy, name=name)
    else:  # "weight" normalises the kernel instead; "none" normalises nothing.
        return None
    norm.build((None, None, channels))
    return norm


def _apply_norm(norm, x, training):
    if norm is None:
        return x
    if isinstance(norm, keras.layers.BatchNormalization):
        return norm(x, training=training)
    return norm(x)


@keras.saving.register_keras_serializable(package="ttszoo")
class DilatedConv1D(keras.layers.Layer):
    """DCTTS' ``C^{o<-i}_{k*delta}``: dilated Conv1D -> norm -> activation -> dropout.

    Args:
      filters: output channels ``o``.
      kernel_size: ``k``.
      dilation_rate: ``delta``.
      causal: left-pad ``(k - 1) * delta`` (AudioEnc / AudioDec); else "same" padding.
      activation: a Keras activation name or None (identity).
      norm: one of ``NORMS`` (default ``"layer"`` as dc_tts).
      dropout: dropout rate after the activation (dc_tts: 0.05).
      separable: a depthwise dilated conv, then a pointwise ``1 x 1`` conv.
      groups: channel groups of ``norm="group"``.
      kernel_initializer: initializer of the kernels (dc_tts: variance scaling).

    Shapes:
      ``call``: inputs ``[B, T, i]`` -> ``[B, T, o]``.
      ``step``: one frame ``[B, 1, i]`` and the queue ``[B, (k-1)*delta, i]`` of the previous
      inputs (``initial_state``: zeros, the causal padding) -> ``([B, 1, o], new queue)``; equal
      to frame ``t`` of ``call`` on the whole sequence.
    """

    def __init__(
        self,
        filters,
        kernel_size=1,
        dilation_rate=1,
        causal=False,
        activation=None,
        norm="layer",
        dropout=0.0,
        separable=False,
        groups=8,
        kernel_initializer="variance_scaling",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_common(norm, dropout, groups)
        if filters < 1 or kernel_size < 1 or dilation_rate < 1:
            raise ValueError(
                "filters, kernel_size and dilation_rate must be >= 1, got "
                f"{filters}, {kernel_size}, {dilation_rate}."
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.causal = causal
        self.activation = keras.activations.get(activation)
        self.norm = norm
        self.dropout = dropout
        self.separable = separable
        self.groups = groups
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    @property
    def padding(self):
        """Frames of padding ``(k - 1) * delta`` in total (all on the left when causal)."""
        return (self.kernel_size - 1) * self.dilation_rate

    def build(self, input_shape):
        channels = input_shape[-1]
        self.input_channels = channels
        k, o = self.kernel_size, self.filters
        if self.separable:
            self.depthwise_kernel = self.add_weight(
                name="depthwise_kernel", shape=(k, channels), initializer=self.kernel_initializer
            )
            self.kernel = self.add_weight(
                name="kernel", shape=(1, channels, o), initializer=self.kernel_initializer
            )
        else:
            self.kernel = self.add_weight(
                name="kernel", shape=(k, channels, o), initializer=self.kernel_initializer
            )
        if self.norm == "weight":
            self.kernel_gain = self.add_weight(name="kernel_gain", shape=(o,), initializer="ones")
            if self.separable:
                self.depthwise_gain = self.add_weight(
                    name="depthwise_gain", shape=(channels,), initializer="ones"
                )
        self.bias = self.add_weight(name="bias", shape=(o,), initializer="zeros")
        self.norm_layer = _make_norm(self, self.norm, o, "norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _kernels(self):
        """(depthwise [k, i] or None, kernel [k or 1, i, o]) in the compute dtype."""
        kernel, depthwise = self.kernel, None
        if self.norm == "weight":
            kernel = _weight_normalized(kernel, self.kernel_gain, [0, 1])
        if self.separable:
            depthwise = self.depthwise_kernel
            if self.norm == "weight":
                depthwise = _weight_normalized(depthwise, self.depthwise_gain, [0])
            depthwise = tf.cast(depthwise, self.compute_dtype)
        return depthwise, tf.cast(kernel, self.compute_dtype)

    def _finish(self, x, training):
        x = x + tf.cast(self.bias, x.dtype)
        x = _apply_norm(self.norm_layer, x, training)
        x = self.activation(x)
        return self.dropout_layer(x, training=training)

    def call(self, inputs, training=False):
        x = tf.cast(inputs, self.compute_dtype)
        left = self.padding if self.causal else self.padding // 2
        x = tf.pad(x, [[0, 0], [left, self.padding - left], [0, 0]])
        depthwise, kernel = self._kernels()
        if depthwise is not None:
            x = tf.nn.depthwise_conv2d(
                x[:, None],
                depthwise[None, :, :, None],
                strides=[1, 1, 1, 1],
                padding="VALID",
                dilations=[1, self.dilation_rate],
            )[:, 0]
            x = tf.nn.conv1d(x, kernel, stride=1, padding="VALID")
        else:
            x = tf.nn.convolution(x, kernel, padding="VALID", dilations=self.dilation_rate)
        return self._finish(x, training)

    def initial_state(self, batch_size):
        """Zeros ``[B, (k-1)*delta, i]``: the causal padding, the queue before the first frame."""
        return tf.zeros([batch_size, self.padding, self.input_channels], self.compute_dtype)

    def step(self, frame, state):
        """Computes only output frame ``t`` from input frame ``t`` and the queue of inputs < t.

        Args:
          frame: ``[B, 1, i]`` input frame ``t``.
          state: ``[B, (k-1)*delta, i]`` inputs ``t-(k-1)*delta .. t-1``.

        Returns:
          ``([B, 1, o], [B, (k-1)*delta, i])``: the output frame and the updated queue.
        """
        if not self.causal and self.kernel_size > 1:
            raise ValueError(
                f"{self.name}: only causal convolutions (or kernel_size 1) can decode frame by "
                "frame; a non-causal one needs future frames."
            )
        window = tf.concat([state, tf.cast(frame, self.compute_dtype)], axis=1)
        taps = window[:, :: self.dilation_rate]  # [B, k, i]: the frames the kernel touches
        depthwise, kernel = self._kernels()
        if depthwise is not None:
            taps = tf.reduce_sum(taps * depthwise, axis=1, keepdims=True)
            kernel = kernel[0]
            taps = tf.reshape(taps, [-1, self.input_channels])
        else:
            taps = tf.reshape(taps, [-1, self.kernel_size * self.input_channels])
            kernel = tf.reshape(kernel, [self.kernel_size * self.input_channels, self.filters])
        output = tf.matmul(taps, kernel)[:, None]
        return self._finish(output, training=False), window[:, 1:]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            dilation_rate=self.dilation_rate,
            causal=self.causal,
            activation=keras.activations.serialize(self.activation),
            norm=self.norm,
            dropout=self.dropout,
            separable=self.separable,
            groups=self.groups,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class HighwayConv1D(keras.layers.Layer):
    """DCTTS' highway convolution ``HC^{d<-d}_{k*delta}`` (channels in = channels out).

    ``[H1, H2] = C^{2d<-d}_{k*delta}(X)``; ``H1`` and ``H2`` are normalised separately (dc_tts),
    then ``Y = sigmoid(H1) * f(H2) + (1 - sigmoid(H1)) * X`` and dropout. ``f`` is the identity
    (``highway_activation="linear"``, dc_tts and the ttszoo default) or ReLU.

    Args:
      kernel_size, dilation_rate, causal, norm, dropout, separable, groups,
      kernel_initializer: as ``DilatedConv1D``.
      highway_activation: ``"linear"`` or ``"relu"``, applied to ``H2``.

    Shapes: ``call``: ``[B, T, d] -> [B, T, d]``; ``step``: ``([B, 1, d], queue
    [B, (k-1)*delta, d]) -> ([B, 1, d], queue)``.
    """

    def __init__(
        self,
        kernel_size=3,
        dilation_rate=1,
        causal=False,
        norm="layer",
        dropout=0.0,
        separable=False,
        groups=8,
        highway_activation="linear",
        kernel_initializer="variance_scaling",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_common(norm, dropout, groups)
        if highway_activation not in HIGHWAY_ACTIVATIONS:
            raise ValueError(
                f"highway_activation must be one of {HIGHWAY_ACTIVATIONS}, got {highway_activation!r}."
            )
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.causal = causal
        self.norm = norm
        self.dropout = dropout
        self.separable = separable
        self.groups = groups
        self.highway_activation = highway_activation
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.channels = channels
        self.conv = DilatedConv1D(
            2 * channels,
            self.kernel_size,
            self.dilation_rate,
            causal=self.causal,
            norm="weight" if self.norm == "weight" else "none",
            separable=self.separable,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="conv",
        )
        self.conv.build((None, None, channels))
        self.gate_norm = _make_norm(self, self.norm, channels, "gate_norm")
        self.value_norm = _make_norm(self, self.norm, channels, "value_norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _combine(self, inputs, hidden, training):
        gate, value = tf.split(hidden, 2, axis=-1)
        gate = tf.sigmoid(_apply_norm(self.gate_norm, gate, training))
        value = _apply_norm(self.value_norm, value, training)
        if self.highway_activation == "relu":
            value = tf.nn.relu(value)
        inputs = tf.cast(inputs, gate.dtype)
        return self.dropout_layer(gate * value + (1.0 - gate) * inputs, training=training)

    def call(self, inputs, training=False):
        return self._combine(inputs, self.conv(inputs, training=training), training)

    def initial_state(self, batch_size):
        return self.conv.initial_state(batch_size)

    def step(self, frame, state):
        hidden, state = self.conv.step(frame, state)
        return self._combine(frame, hidden, training=False), state

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            kernel_size=self.kernel_size,
            dilation_rate=self.dilation_rate,
            causal=self.causal,
            norm=self.norm,
            dropout=self.dropout,
            separable=self.separable,
            groups=self.groups,
            highway_activation=self.highway_activation,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class TransposedConv1D(keras.layers.Layer):
    """DCTTS' deconvolution ``D``: transposed Conv1D ("same") -> norm -> activation -> dropout.

    SSRN doubles the time resolution with ``strides=2`` twice (dc_tts: kernel 3).

    Args:
      filters: output channels.
      kernel_size, strides: of the transposed convolution.
      activation, norm, dropout, groups, kernel_initializer: as ``DilatedConv1D``.

    Shapes: ``[B, T, i] -> [B, T * strides, filters]``.
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=2,
        activation=None,
        norm="layer",
        dropout=0.0,
        groups=8,
        kernel_initializer="variance_scaling",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_common(norm, dropout, groups)
        if filters < 1 or kernel_size < 1 or strides < 1:
            raise ValueError(
                f"filters, kernel_size and strides must be >= 1, got {filters}, {kernel_size}, {strides}."
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.activation = keras.activations.get(activation)
        self.norm = norm
        self.dropout = dropout
        self.groups = groups
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        # tf.nn.conv1d_transpose takes the kernel as [width, out_channels, in_channels].
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.filters, channels),
            initializer=self.kernel_initializer,
        )
        if self.norm == "weight":
            self.kernel_gain = self.add_weight(
                name="kernel_gain", shape=(1, self.filters, 1), initializer="ones"
            )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.norm_layer = _make_norm(self, self.norm, self.filters, "norm")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(self, inputs, training=False):
        x = tf.cast(inputs, self.compute_dtype)
        kernel = self.kernel
        if self.norm == "weight":
            kernel = _weight_normalized(kernel, self.kernel_gain, [0, 2])
        shape = tf.shape(x)
        x = tf.nn.conv1d_transpose(
            x,
            tf.cast(kernel, self.compute_dtype),
            output_shape=tf.stack([shape[0], shape[1] * self.strides, self.filters]),
            strides=self.strides,
            padding="SAME",
        )
        x = x + tf.cast(self.bias, x.dtype)
        x = self.activation(_apply_norm(self.norm_layer, x, training))
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, input_shape):
        time = None if input_shape[1] is None else input_shape[1] * self.strides
        return (input_shape[0], time, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            activation=keras.activations.serialize(self.activation),
            norm=self.norm,
            dropout=self.dropout,
            groups=self.groups,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
