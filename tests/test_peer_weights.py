"""benchmarks/peer_weights.py: PyTorch layouts and weight norms into ttszoo's GAN vocoders,
checked against numpy versions of PyTorch's Conv1d and ConvTranspose1d (no torch needed)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from ttszoo.models.hifigan import HiFiGANGenerator
from ttszoo.models.vocos import VocosGenerator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from peer_weights import folded_weight, load_parallel_wavegan_hifigan, load_vocos  # noqa: E402


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
