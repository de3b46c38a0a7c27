"""Noise-schedule search for few-step diffusion vocoders (WaveGrad, Chen et al. 2020).

Two candidate generators, then one scorer: generate audio with every candidate schedule and
keep the one whose log-mel spectrogram is closest to the reference audio.

* ``wavegrad_grid``: ivanvovk/WaveGrad's grid (``benchmark.generate_betas_grid``): betas
  ``d_i * 10**e_i`` with exponents evenly spaced in log10 between the range's ends and digits
  ``d_i`` in 1..9 read off a decimal counter.
* ``mantissa_exponent_grid``: lmnt-com/wavegrad's search (``noise_schedule.py``): the Cartesian
  product of ``search_level`` random mantissas in (0, 10) over exponents ``10**linspace(-6, -1,
  n)``.
"""

import itertools
import math

import numpy as np
from tqdm.auto import tqdm

from ttszoo.diffusion.sampler import DiffusionSampler
from ttszoo.diffusion.schedules import NoiseSchedule
from ttszoo.errors import InvalidInputError
from ttszoo.evaluation.logmel import log_mel_distance


def wavegrad_grid(num_iterations=6, betas_range=(1e-6, 1e-2), max_grid_size=9**5):
    """ivanvovk/WaveGrad's beta grid: a list of ``[num_iterations]`` float64 arrays.

    The exponents are ``10**linspace(log10(lo), log10(hi), n)``. A decimal counter starts at
    ``11...1`` (``n`` ones) and advances ``ceil(9**n / max_grid_size)`` per iteration, for
    ``max_grid_size`` iterations; states holding a 0 digit are skipped and each kept state's
    digits multiply the exponents. The first candidate is the exponents themselves. For
    ``n = 6`` the grid has 35,113 candidates. Deviation: the counter stops once it passes ``n``
    digits (which the original only reaches for ``n < 5``, where it silently truncated them).
    """
    low, high = np.log10(betas_range[0]), np.log10(betas_range[1])
    exponents = 10.0 ** np.linspace(low, high, num_iterations)
    step = math.ceil(9**num_iterations / max_grid_size)
    state = int("1" * num_iterations)
    grid = []
    for _ in range(max_grid_size):
        digits = str(state)
        if len(digits) > num_iterations:
            break
        if "0" not in digits:
            grid.append(np.array([int(d) for d in digits]) * exponents)
        state += step
    return grid


def mantissa_exponent_grid(num_iterations=6, search_level=3, exponent_range=(1e-6, 1e-1), seed=0):
    """lmnt-com/wavegrad's candidates: ``search_level ** num_iterations`` beta arrays.

    ``mantissas = sorted(10 * U(0, 1, search_level))`` (numpy ``default_rng(seed)``),
    ``exponents = 10**linspace(log10(lo), log10(hi), n)``; every candidate picks one mantissa
    per step: ``betas_i = mantissa_{k_i} * exponent_i``.
    """
    rng = np.random.default_rng(seed)
    mantissas = np.sort(10.0 * rng.uniform(size=search_level))
    exponents = 10.0 ** np.linspace(
        np.log10(exponent_range[0]), np.log10(exponent_range[1]), num_iterations
    )
    return [
        np.asarray(choice) * exponents
        for choice in itertools.product(mantissas, repeat=num_iterations)
    ]


def search_schedule(
    denoise_fn,
    conditioning,
    reference_audio,
    candidates,
    sample_rate,
    seed=0,
    progress=True,
    mel_kwargs=None,
    **sampler_kwargs,
):
    """Scores candidate schedules by the log-mel distance of the audio they generate.

    Args:
      denoise_fn: the trained network, as for ``DiffusionSampler``.
      conditioning: its conditioning for the reference batch (e.g. mel ``[B, F, M]``).
      reference_audio: ``[B, S]`` ground-truth audio for that conditioning.
      candidates: iterable of beta sequences, all of one length (e.g. ``wavegrad_grid()``).
      sample_rate: sampling rate in Hz, for the mel filterbank.
      seed: sampling seed, the same for every candidate so that only the schedule differs.
      progress: show a tqdm progress bar.
      mel_kwargs: passed to ``ttszoo.evaluation.logmel.log_mel_spectrogram``.
      **sampler_kwargs: ``form``, ``clip``, ``noise_input``, ``training_schedule``, ...

    Returns:
      ``(best, scores)``: the best ``NoiseSchedule`` (lowest mean distance over the batch) and
      ``[len(candidates)]`` float64 scores. Candidates with betas outside (0, 1) score ``inf``.
      The sampler is compiled once: every candidate reuses it.
    """
    candidates = [np.asarray(c, np.float64) for c in candidates]
    if not candidates:
        raise InvalidInputError("candidates is empty; give at least one beta sequence.")
    if len({c.shape for c in candidates}) != 1:
        raise InvalidInputError("All candidate schedules must have the same number of steps.")
    length = int(reference_audio.shape[-1])
    sampler = None
    scores = np.full(len(candidates), np.inf)
    for index, betas in enumerate(tqdm(candidates, disable=not progress, desc="schedules")):
        try:
            schedule = NoiseSchedule(betas)
            if sampler is None:
                sampler = DiffusionSampler(denoise_fn, schedule, **sampler_kwargs)
            else:
                sampler.coefficients(schedule)  # raises for a misaligned fractional schedule
        except ValueError:
            continue
        audio = sampler.sample(
            conditioning, length, batch_size=reference_audio.shape[0], seed=seed, schedule=schedule
        )
        distance = log_mel_distance(audio, reference_audio, sample_rate, **(mel_kwargs or {}))
        scores[index] = float(np.mean(distance))
    if not np.isfinite(scores).any():
        raise InvalidInputError("No candidate schedule was valid for this sampler.")
    best = int(np.argmin(scores))
    return NoiseSchedule(candidates[best], name=f"searched-{candidates[best].size}"), scores
