"""benchmarks/peer_weights.py: PyTorch layouts and weight norms into ttszoo's GAN vocoders and
WaveNet, checked against numpy versions of PyTorch's Conv1d and ConvTranspose1d and of r9y9's
WaveNet (no torch needed)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from ttszoo.models.hifigan import HiFiGANGenerator
from ttszoo.models.vocos import VocosGenerator
from ttszoo.models.wavenet import WaveNetVocoder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from peer_weights import (  # noqa: E402
    folded_weight,
    load_parallel_wavegan_hifigan,
    load_r9y9_wavenet,
    load_vocos,
)


def test_weight_norm_folds_to_the_gain_times_the_unit_direction():
    # Two output channels: v = [[3, 4]] and [[0, 2]] (norms 5 and 2), gains 10 and 3.
    state = {
        "c.weight_v": np.array([[[3.0, 4.0]], [[0.0, 2.0]]]),
        "c.weight_g": np.array([[[10.0]], [[3.0]]]),
    }
    np.testing.assert_allclose(folded_weight(state, "c"), [[[6.0, 8.0]], [[0.0, 3.0]]])


def _weight_normed(rng, shape):
    return {"weight_v": rng.normal(size=shape), "weight_g": rng.uniform(0.5, 2, (shape[0], 1, 1))}


def _torch_conv1d(x, weight, bias):
    """PyTorch's Conv1d with "same" padding: ``y[t, o] = b[o] + sum x[t + j - p, i] w[o, i, j]``."""
    k = weight.shape[2]
    padded = np.pad(x, [((k - 1) // 2, (k - 1) // 2), (0, 0)])
    return bias + np.stack(
        [np.einsum("ji,oij->o", padded[t : t + k], weight) for t in range(len(x))]
    )


def _torch_conv_transpose1d(x, weight, bias, rate):
    """PyTorch's ConvTranspose1d with padding ``p = (k - u) / 2``:
    ``y[t u + j - p] += x[t] @ w[:, :, j]``."""
    k = weight.shape[2]
    pad = (k - rate) // 2
    full = np.zeros((len(x) * rate + k, weight.shape[1]))
    for t in range(len(x)):
        for j in range(k):
            full[t * rate + j] += x[t] @ weight[:, :, j]
    return full[pad : pad + len(x) * rate] + bias


def test_parallel_wavegan_layouts_give_pytorchs_convolutions():
    rng = np.random.default_rng(0)
    generator = HiFiGANGenerator((2,), (4,), 4, "2", (3,), ((1,),))
    generator.build((1, None, 3))
    shapes = {  # parallel-wavegan's names and PyTorch's [out, in, k] / [in, out, k] layouts
        "input_conv": (4, 3, 7),
        "upsamples.0.1": (4, 2, 4),
        "blocks.0.convs1.0.1": (2, 2, 3),
        "output_conv.1": (1, 2, 7),
    }
    state = {}
    for name, shape in shapes.items():
        for key, value in _weight_normed(rng, shape).items():
            state[f"{name}.{key}"] = value
        state[f"{name}.bias"] = rng.normal(size=shape[1] if name.startswith("up") else shape[0])
    load_parallel_wavegan_hifigan(generator, state)

    x = rng.normal(size=(5, 3)).astype(np.float32)
    expected = _torch_conv1d(x, folded_weight(state, "input_conv"), state["input_conv.bias"])
    np.testing.assert_allclose(generator.input_conv(x[None])[0], expected, atol=1e-5)
    h = rng.normal(size=(5, 4)).astype(np.float32)
    weight, bias = folded_weight(state, "upsamples.0.1"), state["upsamples.0.1.bias"]
    np.testing.assert_allclose(
        generator.upsample_0(h[None])[0], _torch_conv_transpose1d(h, weight, bias, 2), atol=1e-5
    )

    with pytest.raises(ValueError, match=r"not copied: \['extra.weight'\]"):
        load_parallel_wavegan_hifigan(generator, dict(state, **{"extra.weight": np.zeros(1)}))


def test_vocos_head_must_use_the_periodic_hann_window():
    generator = VocosGenerator(dim=4, intermediate_dim=8, num_layers=1, n_fft=16, hop_length=4)
    generator.build((1, None, 3))
    symmetric = np.hanning(16)  # numpy's Hann is the symmetric one: not istft_same's window
    with pytest.raises(ValueError, match="not the periodic Hann window"):
        load_vocos(generator, {"head.istft.window": symmetric})


def _r9y9_wavenet(state, mel, previous, hop, layers, dilations):
    """numpy r9y9 ``WaveNet`` (scalar input, ``legacy=False``) behind the parity worker's front
    end, for one window: ``mel [W + 4, M]``, ``previous [W hop]`` -> parameters [W hop, 3K]."""
    frames = _torch_conv1d(mel, state["front.conv.weight"], state["front.conv.bias"])[1:-1]
    # Linear interpolation between frame centres: frame f (-1..W) is centred on sample
    # (f + 0.5) hop - 0.5 of the window.
    centres = (np.arange(-1, len(frames) - 1) + 0.5) * hop - 0.5
    samples = np.arange(len(previous))
    condition = np.stack([np.interp(samples, centres, c) for c in frames.T], axis=1)

    def pointwise(x, name):
        return x @ folded_weight(state, name)[:, :, 0].T + state[f"{name}.bias"]

    x = pointwise(previous[:, None], "wavenet.first_conv")
    skips = 0.0
    for i in range(layers):
        prefix, d = f"wavenet.conv_layers.{i}", dilations[i]
        weight = state[f"{prefix}.conv.weight"]  # [2G, R, k]; tap j reads x[t - (k - 1 - j) d]
        k = weight.shape[2]
        padded = np.pad(x, [((k - 1) * d, 0), (0, 0)])
        h = state[f"{prefix}.conv.bias"] + sum(
            padded[j * d : j * d + len(x)] @ weight[:, :, j].T for j in range(k)
        )
        h = h + pointwise(condition, f"{prefix}.conv1x1c")
        a, b = np.split(h, 2, axis=1)
        z = np.tanh(a) / (1.0 + np.exp(-b))
        skips = skips + pointwise(z, f"{prefix}.conv1x1_skip")
        x = (x + pointwise(z, f"{prefix}.conv1x1_out")) * np.sqrt(0.5)
    hidden = pointwise(np.maximum(skips, 0.0), "wavenet.last_conv_layers.1")
    return pointwise(np.maximum(hidden, 0.0), "wavenet.last_conv_layers.3")


def test_r9y9_wavenet_weights_give_r9y9s_network():
    rng = np.random.default_rng(1)
    hop, n_mels, cin, residual, gate, skip, layers = 4, 3, 3, 4, 6, 5, 3
    model = WaveNetVocoder(
        hop_length=hop, n_mels=n_mels, residual_channels=residual, gate_channels=gate,
        skip_channels=skip, kernel_size=2, num_layers=layers, dilation_cycle=2,
        condition_channels=cin, num_mixtures=2,
    )  # fmt: skip
    model.build()
    shapes = {"front.conv": (cin, n_mels, 3), "wavenet.first_conv": (residual, 1, 1),
              "wavenet.last_conv_layers.1": (skip, skip, 1),
              "wavenet.last_conv_layers.3": (6, skip, 1)}  # fmt: skip
    for i in range(layers):
        prefix = f"wavenet.conv_layers.{i}"
        shapes.update({f"{prefix}.conv": (gate, residual, 2), f"{prefix}.conv1x1c": (gate, cin, 1),
                       f"{prefix}.conv1x1_out": (residual, gate // 2, 1),
                       f"{prefix}.conv1x1_skip": (skip, gate // 2, 1)})  # fmt: skip
    state = {}
    for name, shape in shapes.items():
        if name.endswith("conv1x1_skip"):  # weight-normalised, as with --peer_weight_norm
            state.update({f"{name}.{k}": v for k, v in _weight_normed(rng, shape).items()})
        else:
            state[f"{name}.weight"] = rng.normal(size=shape) * 0.5
        state[f"{name}.bias"] = rng.normal(size=shape[0]) * 0.5
    load_r9y9_wavenet(model, state)

    frames = model.context_frames + model.segment_frames
    mel = rng.normal(size=(frames + 4, n_mels)).astype(np.float32)
    previous = rng.uniform(-1, 1, frames * hop).astype(np.float32)
    condition = model.window_condition(model.frame_conditioning(mel[None])[:, 1:-1])
    ours = model.network(previous[None], condition)[0]
    expected = _r9y9_wavenet(state, mel, previous, hop, layers, model.dilations)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)
