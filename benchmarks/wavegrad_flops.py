"""Convolution FLOPs of one pass of ttszoo's WaveGrad network, read from its own layers.

Each convolution costs ``2 * kernel_size * in_channels * out_channels * length`` FLOPs
(a multiply and an add per weight and output step), with the kernel shape read from the built
layer and ``length`` the resolution the layer runs at in ``WaveGrad.call``. ttszoo runs the 1x1
residual convolutions of its DBlocks after downsampling and those of its UBlocks before
upsampling (equal results, ``factor`` times fewer FLOPs), so its count is lower than
lmnt-com/wavegrad's, which runs them at the higher rate; the peer's own count comes from
PyTorch's FLOP counter (``benchmarks/wavegrad_peer_flops.py``). Biases, activations, FiLM's
products and the noise-level encoding are not counted.
"""


def _conv(layer, length):
    kernel_size, in_channels, out_channels = layer.kernel.shape
    return 2 * kernel_size * in_channels * out_channels * length


def wavegrad_conv_flops(model, samples):
    """FLOPs of every convolution of a built ``WaveGrad`` in one pass on ``samples`` samples.

    ``samples`` must be a multiple of ``model.hop_length`` (the network's own requirement).
    """
    if samples % model.hop_length:
        raise ValueError(f"samples ({samples}) must be a multiple of the hop ({model.hop_length}).")
    total = _conv(model.audio_conv, samples)
    lengths = [samples]  # the resolution of each FiLM, finest first
    for dblock in model.dblocks:
        length = lengths[-1] // dblock.factor
        total += _conv(dblock.residual_conv, length)  # after downsampling
        total += sum(_conv(conv, length) for conv in dblock.convs)
        lengths.append(length)
    for film, length in zip(model.films, lengths, strict=True):
        total += _conv(film.input_conv, length) + _conv(film.output_conv, length)
    length = samples // model.hop_length
    total += _conv(model.mel_conv, length)
    for ublock in model.ublocks:
        total += _conv(ublock.residual_conv, length)  # before upsampling
        length *= ublock.factor
        total += sum(_conv(conv, length) for conv in ublock.convs)
    return total + _conv(model.output_conv, samples)
