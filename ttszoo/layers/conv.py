"""DCTTS convolutions: dilated causal / non-causal Conv1D, highway Conv1D, transposed Conv1D.

Tachibana, Uenoyama, Aihara 2017, "Efficiently Trainable Text-to-Speech System Based on Deep
Convolutional Networks with Guided Attention" (arXiv 1710.08969), with the block layout of
Kyubyong/dc_tts (docs/references.md, DCTTS): ``conv -> norm -> activation -> dropout``.

* ``DilatedConv1D`` is the paper's ``C^{o<-i}_{k*delta}``. ``causal=True`` left-pads
  ``(k - 1) * delta`` frames (output ``t`` sees inputs ``<= t`` only); otherwise the padding is
  split ("same"). Causal layers also decode one frame at a time (``step``) from a circular queue
  of their last ``(k - 1) * delta`` inputs, so autoregressive inference never re-runs the prefix.
  With ``norm="none"`` it is also WaveNet's dilated causal convolution.
* ``HighwayConv1D`` is ``HC^{d<-d}_{k*delta}``: ``[H1, H2] = C^{2d<-d}(X)``,
  ``Y = sigmoid(H1) * f(H2) + (1 - sigmoid(H1)) * X`` with ``f`` the identity by default
  (dc_tts; ``"relu"`` is the other reading of the paper; docs/references.md, DCTTS).
* ``TransposedConv1D`` is the paper's ``D`` (SSRN's time upsampling).

Options shared by all three: ``norm`` in ``NORMS`` (``"layer"``: over channels per frame;
``"batch"``; ``"weight"``: the kernel reparametrised as ``g * v / ||v||``; ``"group"``: over
channel groups per frame, so it stays causal; ``"none"``), ``dropout`` and, for the 1-D convs,
``separable`` (a depthwise dilated conv followed by a pointwise one).
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers.validation import check_channels, check_positive_int

NORMS = ("layer", "batch", "weight", "group", "none")
HIGHWAY_ACTIVATIONS = ("linear", "relu")


def _check_common(norm, dropout, groups):
    if norm not in NORMS:
        raise InvalidInputError(f"norm must be one of {NORMS}, got {norm!r}.")
    if not 0.0 <= dropout < 1.0:
        raise InvalidInputError(f"dropout must be in [0, 1), got {dropout}.")
    if groups < 1:
        raise InvalidInputError(f"groups must be >= 1, got {groups}.")


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
    """Dilated Conv1D -> norm -> activation -> dropout, causal ones also one frame at a time.

    DCTTS' ``C^{o<-i}_{k*delta}`` (with ``norm``, ``activation`` and ``dropout`` as dc_tts) and,
    with ``norm="none"``, WaveNet's dilated causal convolution ``y[t] = b + sum_j W[j]
    x[t - (k - 1 - j) delta]`` (van den Oord et al. 2016).

    Incremental decoding keeps a circular queue of the last ``L = (k - 1) * delta`` inputs
    indexed by the absolute position ``t`` (Paine et al. 2016, "Fast Wavenet Generation
    Algorithm", arXiv 1611.09482): a step reads its ``k - 1`` past taps at ``(t - m delta) mod
    L`` and writes the new input at ``t mod L``, so its cost does not grow with the receptive
    field. The zero queue at ``t = 0`` is the causal zero padding, so the steps equal the whole
    sequence frame for frame.

    Args:
      filters: output channels ``o``.
      kernel_size: ``k``.
      dilation_rate: ``delta``.
      causal: left-pad ``(k - 1) * delta`` (AudioEnc / AudioDec, WaveNet); else "same" padding.
      activation: a Keras activation name or None (identity).
      norm: one of ``NORMS`` (default ``"layer"`` as dc_tts).
      dropout: dropout rate after the activation (dc_tts: 0.05).
      separable: a depthwise dilated conv, then a pointwise ``1 x 1`` conv.
      groups: channel groups of ``norm="group"``.
      use_bias: add a bias before the norm.
      kernel_initializer: initializer of the kernels (dc_tts: variance scaling).
      bias_initializer: initializer of the bias.

    Shapes:
      ``call``: inputs ``[B, T, i]`` -> ``[B, T, o]``.
      ``step(inputs, queue, position)``: input ``t`` as ``[B, i]`` or ``[B, 1, i]``, the queue
      ``[L, B, i]`` (``initial_queue``) and ``t`` (int32 scalar) -> (output ``t`` ``[B, o]`` or
      ``[B, 1, o]``, the updated queue); equal to frame ``t`` of ``call``.
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
        use_bias=True,
        kernel_initializer="variance_scaling",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_common(norm, dropout, groups)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.dilation_rate = check_positive_int(dilation_rate, "dilation_rate")
        self.causal = causal
        self.activation = keras.activations.get(activation)
        self.norm = norm
        self.dropout = dropout
        self.separable = separable
        self.groups = groups
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    @property
    def padding(self):
        """Frames of padding ``(k - 1) * delta`` in total (all on the left when causal)."""
        return (self.kernel_size - 1) * self.dilation_rate

    @property
    def queue_length(self):
        """Past inputs a causal step needs: ``L = (k - 1) * delta``."""
        return self.padding

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"{self.name}: the last dimension (channels) of the input must be known, got "
                f"{input_shape}."
            )
        self.input_channels = channels = int(channels)
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
        self.bias = (
            self.add_weight(name="bias", shape=(o,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
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
        if self.bias is not None:
            x = x + tf.cast(self.bias, x.dtype)
        x = _apply_norm(self.norm_layer, x, training)
        x = self.activation(x)
        return self.dropout_layer(x, training=training)

    def call(self, inputs, training=False):
        inputs = tf.convert_to_tensor(inputs)
        if inputs.shape.rank != 3:
            raise ValueError(f"{self.name}: expected inputs [B, T, C], got shape {inputs.shape}.")
        check_channels(inputs, self.input_channels, "the input", self.name)
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

    def initial_queue(self, batch_size):
        """Zeros ``[L, B, i]``: the inputs before ``t = 0`` (the causal zero padding)."""
        return tf.zeros([self.queue_length, batch_size, self.input_channels], self.compute_dtype)

    def step(self, inputs, queue, position):
        """Computes only output ``t`` from input ``t`` and the queue of the inputs before it.

        Args:
          inputs: ``[B, i]`` or ``[B, 1, i]``, the input at position ``t``.
          queue: ``[L, B, i]`` circular buffer; slot ``s`` holds the input of the latest
            ``t' < t`` with ``t' mod L == s`` (zeros for ``t' < 0``).
          position: int32 scalar ``t`` (0 for the first input).

        Returns:
          ``(outputs, queue)``: output ``t`` ``[B, o]`` (``[B, 1, o]`` for a ``[B, 1, i]``
          input), equal to ``call(x)[:, t]``, and the queue with input ``t`` written in.
        """
        if not self.causal and self.kernel_size > 1:
            raise ValueError(
                f"{self.name}: only causal convolutions (or kernel_size 1) can decode frame by "
                "frame; a non-causal one needs future frames."
            )
        inputs = tf.convert_to_tensor(inputs)
        framed = inputs.shape.rank == 3
        x = tf.cast(inputs[:, 0] if framed else inputs, self.compute_dtype)  # [B, i]
        taps = x[None]  # [k, B, i]: oldest tap first, the current input last
        if self.queue_length:
            position = tf.cast(position, tf.int32)
            lags = self.dilation_rate * tf.range(self.kernel_size - 1, 0, -1)
            taps = tf.concat(
                [tf.gather(queue, tf.math.floormod(position - lags, self.queue_length)), taps], 0
            )
            slot = tf.reshape(tf.math.floormod(position, self.queue_length), [1, 1])
            queue = tf.tensor_scatter_nd_update(queue, slot, x[None])
        outputs = self._taps_product(tf.transpose(taps, [1, 0, 2]))
        if framed:
            outputs = outputs[:, None]
        return self._finish(outputs, training=False), queue

    def _taps_product(self, taps):
        """Output ``[B, o]`` (before the bias) of the taps ``[B, k, i]``, oldest first.

        One matrix product ``[B, k * i] x [k * i, o]`` (separable: the depthwise sum over the
        taps, then the pointwise product). Outside XLA this is several times faster per step
        than the equivalent ``tf.einsum("kbi,kio->bo")``, which made DCTTS' cached decoder 2-3x
        slower per frame (docs/benchmarks.md, DCTTS).
        """
        depthwise, kernel = self._kernels()
        if depthwise is not None:
            return tf.matmul(tf.reduce_sum(taps * depthwise, axis=1), kernel[0])
        size = self.kernel_size * self.input_channels
        return tf.matmul(tf.reshape(taps, [-1, size]), tf.reshape(kernel, [size, self.filters]))

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
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
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

    Shapes: ``call``: ``[B, T, d] -> [B, T, d]``; ``step``: ``(input t [B, 1, d] or [B, d],
    queue [(k-1)*delta, B, d], t) -> (output t, queue)`` as ``DilatedConv1D.step``.
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
            raise InvalidInputError(
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

    def initial_queue(self, batch_size):
        return self.conv.initial_queue(batch_size)

    def step(self, inputs, queue, position):
        hidden, queue = self.conv.step(inputs, queue, position)
        return self._combine(inputs, hidden, training=False), queue

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
            raise InvalidInputError(
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
