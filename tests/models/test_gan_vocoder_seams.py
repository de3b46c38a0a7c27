"""Long audio from the GAN vocoders in chunks without seams, at the structure and default chunk
sizes of HiFi-GAN V1 and V3 and Vocos.

A generator's receptive field depends on its kernels, dilations, rates and FFT size, not on
its width, so the models here are the project's gin files of the authors' configurations
(``models/hifigan_v1.gin``, ``hifigan_v3.gin``, ``vocos.gin``) with a few channels and 8 mel
bands (seconds per test). Two checks per model: one mel frame changed moves no output sample
farther away than the reach counted from the layer sizes, and that reach lies within the
default ``context_frames``; then ``vocode`` at the default ``chunk_frames`` and
``context_frames`` reproduces one pass over the whole mel, seams included, while the same
windows without context do not.
"""

import numpy as np
import pytest

import gin
from ttszoo.models import get_model
from ttszoo.training import parse_gin

from .gan_vocoder_checks import check_windows_equal_one_pass

N_MELS, WEIGHT_SCALE = 8, 0.3
# The project's gin files of the authors' configurations, with a few channels.
CONFIGS = {
    "hifigan_v1": ("models/hifigan_v1.gin", ["HiFiGAN.initial_channels = 16"]),
    "hifigan_v3": ("models/hifigan_v3.gin", ["HiFiGAN.initial_channels = 8"]),
    "vocos": ("models/vocos.gin", ["Vocos.dim = 8", "Vocos.intermediate_dim = 16"]),
}


def _narrow(name, *bindings):
    gin_file, narrowing = CONFIGS[name]
    parse_gin([gin_file], [f"N_MELS = {N_MELS}", *narrowing, *bindings])
    return gin.get_configurable(get_model)()


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
# The same counts done by hand, interval by interval (docs/vocoders_gan.md): V1 3 frames ->
# 28 -> 88 -> 708 -> 768 -> 1537 -> 1597 -> 3195 -> 3255 -> 3258 samples; V3 3 -> 28 -> 73 ->
# 588 -> 633 -> 2534 -> 2579 -> 2582; Vocos 27 frames * 256 + 384.
HAND_COUNTED = {"hifigan_v1": 3258, "hifigan_v3": 2582, "vocos": 7296}


def _random_weights(model, frames, seed=7):
    mel = np.random.default_rng(seed).uniform(-1, 1, (1, frames, N_MELS)).astype(np.float32)
    model.generator.build(mel.shape)
    rng = np.random.default_rng(seed)
    model.generator.set_weights(
        [rng.normal(0, WEIGHT_SCALE, w.shape) for w in model.generator.get_weights()]
    )
    return mel


@pytest.mark.parametrize("name", list(CONFIGS))
def test_one_frame_moves_no_sample_beyond_the_counted_reach_within_the_context(name):
    model = _narrow(name)
    hop, frame = model.hop_length, 40
    mel = _random_weights(model, 2 * frame)
    changed = mel.copy()
    changed[0, frame] += np.random.default_rng(1).normal(0, 1, N_MELS)
    moved = np.nonzero(model.generate(changed).numpy()[0] != model.generate(mel).numpy()[0])[0]
    left, right = frame * hop - moved[0], moved[-1] - ((frame + 1) * hop - 1)
    reach = REACH[name](model.generator)
    assert hop == 256 and reach == HAND_COUNTED[name]
    assert max(left, right) <= reach < model.context_frames * hop
    # The change does travel most of the way (the far ends weigh little in float32).
    assert min(left, right) > reach / 2


@pytest.mark.parametrize("name", list(CONFIGS))
def test_default_windows_reproduce_one_pass_at_the_seams(name):
    model = _narrow(name)
    window = model.chunk_frames + 2 * model.context_frames
    frames = 2 * window + 7  # three chunks, the last window shifted inwards
    mel = np.random.default_rng(3).uniform(-1, 1, (1, frames, N_MELS)).astype(np.float32)
    # float32 roundoff of the deep V1 stack with these large weights reaches 4e-5 anywhere
    # (windows and one pass are batched differently); a seam would be far larger.
    whole = check_windows_equal_one_pass(model, mel, WEIGHT_SCALE, model.hop_length, atol=1e-4)
    class_name = type(model).__name__
    seamed = _narrow(name, f"{class_name}.context_frames = 0")
    seamed.generator.build(mel.shape)
    seamed.generator.set_weights(model.generator.get_weights())
    audio = seamed.vocode(mel)["audio"].numpy()[0]
    # Without context the first window's zero padding shows around its end (the last window
    # is shifted inwards, so its start is inside the mel).
    seam = model.chunk_frames * model.hop_length
    around = slice(seam - model.hop_length, seam + model.hop_length)
    assert np.abs(audio - np.clip(whole[0], -1, 1))[around].max() > 1e-2, name
