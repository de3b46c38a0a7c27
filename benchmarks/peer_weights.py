"""PyTorch peers' generator weights copied into ttszoo's GAN vocoders (for the speed benchmark).

The state dicts come from benchmarks/gan_peer_worker.py as npz files with PyTorch's names and
layouts:

* ``parallel-wavegan``'s ``HiFiGANGenerator`` (kan-bayashi): every convolution weight
  normalised (``weight_g``, ``weight_v``; ``torch.nn.utils.weight_norm`` with ``dim=0``, so
  ``weight = g * v / ||v||`` with the norm over all axes but the first), ``Conv1d`` kernels
  ``[out, in, k]``, ``ConvTranspose1d`` kernels ``[in, out, k]``; names ``input_conv``,
  ``upsamples.{i}.1``, ``blocks.{i * blocks_per_stage + j}.convs1.{d}.1`` (dilated) and
  ``.convs2.{d}.1`` (type-1 blocks only), ``output_conv.1``.
* ``vocos``' ``VocosBackbone`` and ``ISTFTHead`` (gemelo-ai): ``backbone.embed`` (``Conv1d``),
  ``backbone.norm``, ``backbone.convnext.{i}.{dwconv, norm, pwconv1, pwconv2, gamma}`` (the
  depthwise kernel ``[dim, 1, k]``, ``Linear`` weights ``[out, in]``),
  ``backbone.final_layer_norm``, ``head.out`` and the inverse STFT's window buffer
  ``head.istft.window``.
* ``wavenet_vocoder``'s ``WaveNet`` (r9y9) behind the mel front end of
  benchmarks/wavenet_peer_worker.py: ``front.conv``, ``wavenet.first_conv``,
  ``wavenet.conv_layers.{i}.{conv, conv1x1c, conv1x1_out, conv1x1_skip}`` and
  ``wavenet.last_conv_layers.{1, 3}``, 1x1 convolutions ``[out, in, 1]``, weight norms
  optional.

Keras wants ``Conv1D`` kernels ``[k, in, out]``, ``Conv1DTranspose`` kernels ``[k, out, in]``,
``DepthwiseConv1D`` kernels ``[k, channels, 1]`` and ``Dense`` kernels ``[in, out]``. Both
sides' convolutions are cross-correlations and both transposed convolutions place
``x[t] * w[j]`` at output ``t * u + j - (k - u) / 2`` (tests/models/test_hifigan.py), so no
kernel is flipped.
"""

import numpy as np


class StateDict:
    """A PyTorch state dict (name -> array) read once each; ``check_used`` finds leftovers."""

    def __init__(self, arrays):
        self.arrays = dict(arrays)
        self.unused = set(self.arrays)

    def __getitem__(self, name):
        self.unused.discard(name)
        return self.arrays[name]

    def __contains__(self, name):
        return name in self.arrays

    def ignore(self, prefix):
        """Marks every weight under ``prefix`` as used: it has no counterpart to copy into."""
        self.unused = {name for name in self.unused if not name.startswith(f"{prefix}.")}

    def check_used(self, what):
        if self.unused:
            raise ValueError(f"{what}: weights not copied: {sorted(self.unused)}")


def folded_weight(state, prefix):
    """``{prefix}.weight``, or ``g * v / ||v||`` folded from the weight-norm pair."""
    if f"{prefix}.weight" in state:
        return state[f"{prefix}.weight"]
    gain, direction = state[f"{prefix}.weight_g"], state[f"{prefix}.weight_v"]
    axes = tuple(range(1, direction.ndim))
    return gain * direction / np.sqrt(np.sum(np.square(direction), axis=axes, keepdims=True))


def copy_conv(layer, state, prefix):
    """A ``Conv1d`` (``[out, in, k]``) into a Keras ``Conv1D`` (``[k, in, out]``), or a
    ``ConvTranspose1d`` (``[in, out, k]``) into a ``Conv1DTranspose`` (``[k, out, in]``): the
    same reversal of the axes."""
    layer.set_weights([folded_weight(state, prefix).transpose(2, 1, 0), state[f"{prefix}.bias"]])


def pointwise_kernel(state, prefix):
    """A 1x1 ``Conv1d``'s weight (``[out, in, 1]``) as a Keras ``Dense`` kernel (``[in, out]``)."""
    return folded_weight(state, prefix)[:, :, 0].T


def copy_pointwise(layer, state, prefix):
    """A 1x1 ``Conv1d`` into a Keras ``Dense``."""
    layer.set_weights([pointwise_kernel(state, prefix), state[f"{prefix}.bias"]])


def copy_dense(layer, state, prefix):
    """A ``Linear`` (``[out, in]``) into a Keras ``Dense`` (``[in, out]``)."""
    layer.set_weights([state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]])


def copy_layer_norm(layer, state, prefix):
    layer.set_weights([state[f"{prefix}.weight"], state[f"{prefix}.bias"]])


def load_parallel_wavegan_hifigan(generator, arrays):
    """Copies ``parallel-wavegan``'s ``HiFiGANGenerator`` weights into a built
    ``HiFiGANGenerator`` of the same sizes (weight norms folded)."""
    state = StateDict(arrays)
    copy_conv(generator.input_conv, state, "input_conv")
    blocks_per_stage = len(generator.resblock_kernel_sizes)
    for i in range(len(generator.upsample_rates)):
        copy_conv(getattr(generator, f"upsample_{i}"), state, f"upsamples.{i}.1")
        for j, block in enumerate(generator.resblocks(i)):
            prefix = f"blocks.{i * blocks_per_stage + j}"
            for d in range(len(block.dilations)):
                copy_conv(getattr(block, f"dilated_{d}"), state, f"{prefix}.convs1.{d}.1")
                if block.block_type == "1":
                    copy_conv(getattr(block, f"plain_{d}"), state, f"{prefix}.convs2.{d}.1")
    copy_conv(generator.output_conv, state, "output_conv.1")
    state.check_used("parallel-wavegan HiFiGANGenerator")


def periodic_hann(n):
    """``0.5 - 0.5 cos(2 pi t / n)``, ``t < n``: torch's and TensorFlow's default Hann window."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def load_vocos(generator, arrays):
    """Copies ``vocos``' backbone and ISTFT head into a built ``VocosGenerator``; checks that
    the head's window is the periodic Hann window of ``n_fft`` samples that ``istft_same`` uses."""
    state = StateDict(arrays)
    window = state["head.istft.window"]
    if window.shape != (generator.n_fft,) or not np.allclose(
        window, periodic_hann(window.size), atol=1e-6
    ):
        raise ValueError("The peer's inverse STFT window is not the periodic Hann window of n_fft.")
    copy_conv(generator.embed, state, "backbone.embed")
    copy_layer_norm(generator.input_norm, state, "backbone.norm")
    for i, block in enumerate(generator.blocks):
        prefix = f"backbone.convnext.{i}"
        depthwise = state[f"{prefix}.dwconv.weight"]  # [dim, 1, k] -> [k, dim, 1]
        block.depthwise.set_weights([depthwise.transpose(2, 0, 1), state[f"{prefix}.dwconv.bias"]])
        copy_layer_norm(block.norm, state, f"{prefix}.norm")
        copy_dense(block.expand, state, f"{prefix}.pwconv1")
        copy_dense(block.project, state, f"{prefix}.pwconv2")
        block.gamma.assign(state[f"{prefix}.gamma"])
    copy_layer_norm(generator.output_norm, state, "backbone.final_layer_norm")
    copy_dense(generator.head, state, "head.out")
    state.check_used("vocos VocosBackbone + ISTFTHead")


def load_r9y9_wavenet(model, arrays):
    """Copies r9y9's ``WaveNet`` and the worker's front end into a built ``WaveNetVocoder`` of
    the same sizes. Each block's 1x1 conditioning convolution becomes its slice of
    ``condition_projection``; the last block's residual convolution, which nothing reads, has
    no counterpart (ttszoo does not build it)."""
    state = StateDict(arrays)
    copy_conv(model.frame_network, state, "front.conv")
    copy_pointwise(model.input_projection, state, "wavenet.first_conv")
    kernels, biases = [], []
    for i, block in enumerate(model.blocks):
        prefix = f"wavenet.conv_layers.{i}"
        copy_conv(block.convolution, state, f"{prefix}.conv")
        kernels.append(pointwise_kernel(state, f"{prefix}.conv1x1c"))
        biases.append(state[f"{prefix}.conv1x1c.bias"])
        copy_pointwise(block.skip_projection, state, f"{prefix}.conv1x1_skip")
        if block.residual_projection is not None:
            copy_pointwise(block.residual_projection, state, f"{prefix}.conv1x1_out")
        else:
            state.ignore(f"{prefix}.conv1x1_out")
    model.condition_projection.set_weights([np.concatenate(kernels, 1), np.concatenate(biases)])
    copy_pointwise(model.head_hidden, state, "wavenet.last_conv_layers.1")
    copy_pointwise(model.head_output, state, "wavenet.last_conv_layers.3")
    state.check_used("wavenet_vocoder WaveNet")
