"""Diffusion vocoder machinery: noise schedules, the reverse-process sampler, schedule search.

WaveGrad (Chen et al. 2020) and DiffWave (Kong et al. 2021); any Keras model that predicts the
noise, ``denoise_fn(noisy_audio [B, S], conditioning, noise_level [B]) -> [B, S]``, plugs in.
"""

from ttszoo.diffusion.sampler import DiffusionSampler
from ttszoo.diffusion.schedules import NoiseSchedule, diffuse, fibonacci_betas
from ttszoo.diffusion.search import mantissa_exponent_grid, search_schedule, wavegrad_grid

__all__ = [
    "DiffusionSampler",
    "NoiseSchedule",
    "diffuse",
    "fibonacci_betas",
    "mantissa_exponent_grid",
    "search_schedule",
    "wavegrad_grid",
]
