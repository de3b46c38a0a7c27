"""DCTTS network blocks: TextEnc, AudioEnc, AudioDec (Text2Mel) and the SSRN stack.

Tachibana et al. 2017 (arXiv 1710.08969), layer stacks as Kyubyong/dc_tts builds them
(docs/references.md, DCTTS); ``C(o, k, delta)`` is ``DilatedConv1D``, ``HC(k, delta)`` is
``HighwayConv1D``, ``D`` is ``TransposedConv1D``:

* TextEnc (non-causal): Embed(e) -> C(2d,1,1)+ReLU -> C(2d,1,1) ->
  [HC(3,1) HC(3,3) HC(3,9) HC(3,27)] x 2 -> HC(3,1) x 2 -> HC(1,1) x 2 -> split into K, V.
* AudioEnc (causal): [C(d,1,1)+ReLU] x 2 -> C(d,1,1) -> [HC(3,1) HC(3,3) HC(3,9) HC(3,27)] x 2
  -> HC(3,3) x 2.
* AudioDec (causal): C(d,1,1) -> HC(3,1) HC(3,3) HC(3,9) HC(3,27) -> HC(3,1) x 2 ->
  [C(d,1,1)+ReLU] x 3 -> C(F,1,1) logits.
* SSRN (non-causal): C(c,1,1) -> HC(3,1) HC(3,3) -> [D(c, stride 2) -> HC(3,1) HC(3,3)] x log2(r)
  -> C(2c,1,1) -> HC(3,1) x 2 -> C(F',1,1) -> [C(F',1,1)+ReLU] x 2 -> C(F',1,1) logits.

Every layer applies ``norm`` and ``dropout`` (dc_tts) except the output layer that makes the
logits, which is a plain convolution: a norm there would pin each frame's logits to a fixed
mean and spread (a deliberate difference from dc_tts).
"""

import math

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers.conv import DilatedConv1D, HighwayConv1D, TransposedConv1D
from ttszoo.layers.tracking import track_layers

DILATIONS = (1, 3, 9, 27)


class _ConvStack(keras.layers.Layer):
    """A list of DCTTS conv layers applied in order; causal stacks also decode frame by frame.

    Subclasses list their layers in ``_make_layers(channels)``. Shapes: ``call`` ``[B, T, i]
    -> [B, T, o]``; ``step`` ``([B, 1, i], queues, t) -> ([B, 1, o], queues)`` where ``queues``
    is one circular queue per layer (``initial_state``) and ``t`` the frame index.
    """

    def __init__(
        self,
        dropout=0.05,
        norm="layer",
        separable=False,
        groups=8,
        highway_activation="linear",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.dropout = dropout
        self.norm = norm
        self.separable = separable
        self.groups = groups
        self.highway_activation = highway_activation

    causal = False

    def _conv(self, filters, kernel_size=1, dilation_rate=1, activation=None, output=False):
        return DilatedConv1D(
            filters,
            kernel_size,
            dilation_rate,
            causal=self.causal,
            activation=activation,
            norm="none" if output else self.norm,
            dropout=0.0 if output else self.dropout,
            separable=self.separable and kernel_size > 1,
            groups=self.groups,
            dtype=self.dtype_policy,
        )

    def _highway(self, kernel_size, dilation_rate):
        return HighwayConv1D(
            kernel_size,
            dilation_rate,
            causal=self.causal,
            norm=self.norm,
            dropout=self.dropout,
            separable=self.separable and kernel_size > 1,
            groups=self.groups,
            highway_activation=self.highway_activation,
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.stack = track_layers(self, self._make_layers(), "layer_{:02d}")
        shape = (None, None, input_shape[-1])
        for layer in self.stack:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs, training=False, frame_mask=None):
        x = inputs
        for layer in self.stack:
            x = layer(x, training=training)
            if frame_mask is not None:
                x = x * tf.cast(frame_mask, x.dtype)[..., None]
        return x

    def initial_state(self, batch_size):
        """One zero queue per layer (the causal padding)."""
        return [layer.initial_queue(batch_size) for layer in self.stack]

    def step(self, frame, queues, position):
        """Output frame ``t`` ``[B, 1, o]`` from input frame ``t`` ``[B, 1, i]`` and the queues."""
        new_queues = []
        for layer, queue in zip(self.stack, queues, strict=True):
            frame, queue = layer.step(frame, queue, position)
            new_queues.append(queue)
        return frame, new_queues

    def get_config(self):
        config = super().get_config()
        config.update(
            dropout=self.dropout,
            norm=self.norm,
            separable=self.separable,
            groups=self.groups,
            highway_activation=self.highway_activation,
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class TextEncoder(_ConvStack):
    """TextEnc: text ids ``[B, N]`` -> keys and values ``[B, N, d]`` each.

    Padded positions (id 0) are zeroed after every layer, so a text's encoding does not depend
    on how much padding its batch has (it equals the encoding of the unpadded text).
    """

    def __init__(self, vocab_size, e=128, d=256, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.e = e
        self.d = d

    def _make_layers(self):
        d2 = 2 * self.d
        layers = [self._conv(d2, activation="relu"), self._conv(d2)]
        layers += [self._highway(3, rate) for rate in DILATIONS * 2]
        layers += [self._highway(3, 1) for _ in range(2)]
        return layers + [self._highway(1, 1) for _ in range(2)]

    def build(self, input_shape):
        self.embedding = keras.layers.Embedding(
            self.vocab_size, self.e, dtype=self.dtype_policy, name="embedding"
        )
        self.embedding.build(input_shape)
        super().build((None, None, self.e))

    def call(self, text, training=False):
        mask = text > 0
        x = self.embedding(text) * tf.cast(mask, self.compute_dtype)[..., None]
        keys, values = tf.split(super().call(x, training=training, frame_mask=mask), 2, axis=-1)
        return keys, values

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, e=self.e, d=self.d)
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class AudioEncoder(_ConvStack):
    """AudioEnc (causal): previous frames ``[B, T, F]`` -> queries ``[B, T, d]``."""

    causal = True

    def __init__(self, d=256, **kwargs):
        super().__init__(**kwargs)
        self.d = d

    def _make_layers(self):
        layers = [self._conv(self.d, activation="relu") for _ in range(2)] + [self._conv(self.d)]
        layers += [self._highway(3, rate) for rate in DILATIONS * 2]
        return layers + [self._highway(3, 3) for _ in range(2)]

    def get_config(self):
        config = super().get_config()
        config.update(d=self.d)
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class AudioDecoder(_ConvStack):
    """AudioDec (causal): ``R' = [R; Q]`` ``[B, T, 2d]`` -> mel logits ``[B, T, F]``."""

    causal = True

    def __init__(self, d=256, n_mels=80, **kwargs):
        super().__init__(**kwargs)
        self.d = d
        self.n_mels = n_mels

    def _make_layers(self):
        layers = [self._conv(self.d)] + [self._highway(3, rate) for rate in DILATIONS]
        layers += [self._highway(3, 1) for _ in range(2)]
        layers += [self._conv(self.d, activation="relu") for _ in range(3)]
        return layers + [self._conv(self.n_mels, output=True)]

    def get_config(self):
        config = super().get_config()
        config.update(d=self.d, n_mels=self.n_mels)
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class SSRNStack(_ConvStack):
    """SSRN's layers: reduced mel ``[B, T, F]`` -> linear logits ``[B, T * r, F']``.

    ``reduction_factor`` must be a power of two: each stride-2 transposed convolution doubles
    the frame rate.
    """

    def __init__(self, c=512, n_linear=1025, reduction_factor=4, deconv_kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        if reduction_factor < 1 or reduction_factor & (reduction_factor - 1):
            raise InvalidInputError(
                f"SSRN upsamples time with stride-2 deconvolutions, so reduction_factor must be a "
                f"power of two (1, 2, 4, 8, ...), got {reduction_factor}."
            )
        self.c = c
        self.n_linear = n_linear
        self.reduction_factor = reduction_factor
        self.deconv_kernel_size = deconv_kernel_size

    def _make_layers(self):
        layers = [self._conv(self.c), self._highway(3, 1), self._highway(3, 3)]
        for _ in range(int(math.log2(self.reduction_factor))):
            layers.append(
                TransposedConv1D(
                    self.c,
                    self.deconv_kernel_size,
                    strides=2,
                    norm=self.norm,
                    dropout=self.dropout,
                    groups=self.groups,
                    dtype=self.dtype_policy,
                )
            )
            layers += [self._highway(3, 1), self._highway(3, 3)]
        layers += [self._conv(2 * self.c), self._highway(3, 1), self._highway(3, 1)]
        layers += [self._conv(self.n_linear)]
        layers += [self._conv(self.n_linear, activation="relu") for _ in range(2)]
        return layers + [self._conv(self.n_linear, output=True)]

    def get_config(self):
        config = super().get_config()
        config.update(
            c=self.c,
            n_linear=self.n_linear,
            reduction_factor=self.reduction_factor,
            deconv_kernel_size=self.deconv_kernel_size,
        )
        return config
