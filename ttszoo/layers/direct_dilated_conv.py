"""A dilated 1-D convolution that runs as one dilated Conv2D outside training.

TensorFlow's ``tf.nn.convolution`` (what ``keras.layers.Conv1D`` calls) computes a dilated
convolution off the TPU by its space-to-batch rewrite: ``SpaceToBatchND``, an ordinary
convolution, ``BatchToSpaceND``. oneDNN's CPU kernel and cuDNN take the dilation directly,
which on this project's 2-core CPU made HiFi-GAN V3's generator 0.73-0.80 of the time and V1's
0.91-0.94 (docs/vocoders_gan.md, "HiFi-GAN"; docs/benchmarks.md, run H). Its gradient
is the catch: TensorFlow's own CPU kernels (oneDNN turned off, or a build without it) have no
gradient for a dilated convolution and raise an error. So ``DirectDilatedConv1D`` convolves
directly only outside training, and trains through Keras' path; both compute the same
function (to float round-off).

Shapes: inputs ``[B, T, C_in]``, kernel ``[k, C_in, C_out]``, outputs ``[B, T', C_out]``.
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError


@keras.saving.register_keras_serializable(package="ttszoo")
class DirectDilatedConv1D(keras.layers.Conv1D):
    """``keras.layers.Conv1D`` whose dilated convolution skips space-to-batch outside training
    (``training`` false or unset).

    Same arguments, weights and function as ``Conv1D``, restricted to channels last, one group
    and ``"same"`` or ``"valid"`` padding (Keras allows no stride with a dilation).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if (
            self.padding not in ("same", "valid")
            or self.data_format != "channels_last"
            or self.groups != 1
        ):
            raise InvalidInputError(
                "DirectDilatedConv1D takes channels-last inputs, one group and 'same' or 'valid' "
                f"padding, got padding={self.padding!r}, data_format={self.data_format!r}, "
                f"groups={self.groups}; use keras.layers.Conv1D for the others."
            )

    def call(self, inputs, training=None):
        if training or self.dilation_rate == (1,):
            return super().call(inputs)
        # [B, 1, T, C_in] * [1, k, C_in, C_out], dilated along time.
        outputs = tf.nn.conv2d(
            inputs[:, None],
            tf.cast(self.kernel, inputs.dtype)[None],
            strides=1,
            padding=self.padding.upper(),
            dilations=[1, 1, self.dilation_rate[0], 1],
        )[:, 0]
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        return outputs if self.activation is None else self.activation(outputs)
