"""Long audio from the GAN vocoders in chunks without seams, at the structure and default chunk
sizes of HiFi-GAN V1 and V3 and Vocos.

A generator's receptive field depends on its kernels, dilations, rates and FFT size, not on
its width, so the models here keep those of the authors' configurations with a few channels
(seconds per test). Two checks per model: one mel frame changed moves no output sample
farther away than the reach counted from the layer sizes, and that reach lies within the
default ``context_frames``; then ``vocode`` at the default ``chunk_frames`` and
``context_frames`` reproduces one pass over the whole mel, seams included, while the same
windows without context do not.
"""

import numpy as np
import pytest

from ttszoo.models.hifigan import HiFiGAN
from ttszoo.models.vocos import Vocos

from .gan_vocoder_checks import check_windows_equal_one_pass

N_MELS, WEIGHT_SCALE = 8, 0.3
V1 = {"initial_channels": 16}  # the defaults: rates 8 8 2 2, kernels 16 16 4 4, type 1 (3 7 11)
V3 = {
    "upsample_rates": (8, 8, 4),
    "upsample_kernel_sizes": (16, 16, 8),
    "initial_channels": 8,
    "resblock_type": "2",
    "resblock_kernel_sizes": (3, 5, 7),
    "resblock_dilations": ((1, 2), (2, 6), (3, 12)),
}
VOCOS = {"dim": 8, "intermediate_dim": 16}  # 8 blocks, n_fft 1024, hop 256 by default
MODELS = {
    "hifigan_v1": lambda **kw: HiFiGAN(n_mels=N_MELS, **V1, **kw),
    "hifigan_v3": lambda **kw: HiFiGAN(n_mels=N_MELS, **V3, **kw),
    "vocos": lambda **kw: Vocos(n_mels=N_MELS, **VOCOS, **kw),
}


def hifigan_reach(generator):
    """Output samples on each side of one mel frame's own samples that the frame can move,
    from the layer sizes: the kernel-7 input convolution reaches 3 frames; a transposed
    convolution of rate ``u`` and padding ``p = (k - u) / 2`` turns a reach of ``r`` inputs
    into ``r * u + p`` outputs; a residual block adds ``(K - 1) / 2 * d`` per dilated
    convolution (plus ``(K - 1) / 2`` for the plain one of type 1), the widest block counts;
    the kernel-7 output convolution adds 3."""
    g = generator
    plain = 1 if g.resblock_type == "1" else 0
    block = max(
        sum((k - 1) // 2 * (d + plain) for d in dilations)
        for k, dilations in zip(g.resblock_kernel_sizes, g.resblock_dilations, strict=True)
    )
    reach = 3
    for u, k in zip(g.upsample_rates, g.upsample_kernel_sizes, strict=True):
        reach = reach * u + (k - u) // 2 + block
    return reach + 3


def vocos_reach(generator):
    """Kernel-7 convolutions (the embedding and one per block) reach 3 frames each; the frame
    ``t`` of the inverse STFT covers samples ``t * hop - (n_fft - hop) / 2`` onwards for
    ``n_fft`` samples."""
    g = generator
    return 3 * (1 + g.num_layers) * g.hop_length + (g.n_fft - g.hop_length) // 2


REACH = {"hifigan_v1": hifigan_reach, "hifigan_v3": hifigan_reach, "vocos": vocos_reach}


def _random_weights(model, frames, seed=7):
    mel = np.random.default_rng(seed).uniform(-1, 1, (1, frames, N_MELS)).astype(np.float32)
    model.generator.build(mel.shape)
    rng = np.random.default_rng(seed)
    model.generator.set_weights(
        [rng.normal(0, WEIGHT_SCALE, w.shape) for w in model.generator.get_weights()]
    )
    return mel


@pytest.mark.parametrize("name", list(MODELS))
def test_one_frame_moves_no_sample_beyond_the_counted_reach_within_the_context(name):
    model = MODELS[name]()
    hop, frame = model.hop_length, 40
    mel = _random_weights(model, 2 * frame)
    changed = mel.copy()
    changed[0, frame] += np.random.default_rng(1).normal(0, 1, N_MELS)
    moved = np.nonzero(model.generate(changed).numpy()[0] != model.generate(mel).numpy()[0])[0]
    left, right = frame * hop - moved[0], moved[-1] - ((frame + 1) * hop - 1)
    reach = REACH[name](model.generator)
    assert max(left, right) <= reach < model.context_frames * hop
    # The change does travel most of the way (the far ends weigh little in float32).
    assert min(left, right) > reach / 2


@pytest.mark.parametrize("name", list(MODELS))
def test_default_windows_reproduce_one_pass_at_the_seams(name):
    model = MODELS[name]()
    window = model.chunk_frames + 2 * model.context_frames
    frames = 2 * window + 7  # three chunks, the last window shifted inwards
    mel = np.random.default_rng(3).uniform(-1, 1, (1, frames, N_MELS)).astype(np.float32)
    whole = check_windows_equal_one_pass(model, mel, WEIGHT_SCALE, model.hop_length)
    seamed = MODELS[name](context_frames=0)
    seamed.generator.build(mel.shape)
    seamed.generator.set_weights(model.generator.get_weights())
    audio = seamed.vocode(mel)["audio"].numpy()[0]
    seams = np.arange(model.chunk_frames, frames, model.chunk_frames) * model.hop_length
    assert np.abs(audio - np.clip(whole[0], -1, 1))[seams].max() > 1e-3
