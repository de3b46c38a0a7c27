"""A grouped 1-D convolution that runs fast on CPUs.

``keras.layers.Conv1D(groups=G)`` on the TensorFlow backend runs its grouped convolution
through XLA on a CPU (TensorFlow's CPU kernels have none), and XLA's CPU grouped
convolution is slow: one forward and backward pass of HiFi-GAN's multi-scale discriminator
took 11 s for a batch of 8 x 3200 samples at a quarter of the authors' widths, 90 times the
multi-period discriminator (docs/vocoders_gan.md, "Training speed"). ``GroupedConv1D`` has
the same weights and output as ``Conv1D(groups=G)`` but convolves each group on its own
(``G`` ordinary convolutions, which oneDNN runs fast) and concatenates the results.

Shapes: inputs ``[B, T, C_in]``, kernel ``[k, C_in / G, C_out]`` (Keras' grouped layout:
output channels ``g * C_out / G ...`` read input channels ``g * C_in / G ...``), outputs
``[B, T', C_out]``.
"""

import keras
from keras import ops

from ttszoo.errors import InvalidInputError


@keras.saving.register_keras_serializable(package="ttszoo")
class GroupedConv1D(keras.layers.Conv1D):
    """``keras.layers.Conv1D`` whose groups run as separate convolutions (same arguments,
    channels last; "causal" padding is not supported: pad the inputs instead)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.padding == "causal" or self.data_format != "channels_last":
            raise InvalidInputError(
                "GroupedConv1D takes channels-last inputs with 'valid' or 'same' padding, got "
                f"padding={self.padding!r}, data_format={self.data_format!r}; pad the inputs "
                "yourself for a causal convolution."
            )

    def call(self, inputs):
        # Conv1D.call convolves with ops.conv directly; this goes through convolution_op.
        outputs = self.convolution_op(inputs, self.kernel)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return outputs if self.activation is None else self.activation(outputs)

    def convolution_op(self, inputs, kernel):
        if self.groups == 1:
            return super().convolution_op(inputs, kernel)
        outputs = [
            super(GroupedConv1D, self).convolution_op(group_inputs, group_kernel)
            for group_inputs, group_kernel in zip(
                ops.split(inputs, self.groups, axis=-1),
                ops.split(kernel, self.groups, axis=-1),
                strict=True,
            )
        ]
        return ops.concatenate(outputs, axis=-1)
