"""Searched inference noise schedules stored in a model directory.

``ttszoo schedule-search`` writes ``<model_dir>/noise_schedules/searched-<N>.json``:
``{"name", "betas", "score", "metric", "utterances", "candidates", "reference_scores"}``.
``ttszoo.training.schedule_search.search_model_schedule`` runs the search on a trained model
and saves the result here; a diffusion vocoder reads the searched schedule of its iteration
count back in its ``restored(directory)`` hook (``load_searched_schedule``), which the loader
calls. ``candidate_schedules`` gives the beta sequences a search scores.
"""

import json

import numpy as np
import tensorflow as tf

from ttszoo.diffusion.schedules import INFERENCE_ITERATIONS, NoiseSchedule
from ttszoo.diffusion.search import mantissa_exponent_grid, wavegrad_grid
from ttszoo.errors import InvalidInputError

SCHEDULES = "noise_schedules"


def schedule_path(directory, num_iterations):
    """``<model_dir>/noise_schedules/searched-<num_iterations>.json``."""
    return directory.join(SCHEDULES, f"searched-{int(num_iterations)}.json")


def save_searched_schedule(directory, schedule, score, **details):
    """Writes ``schedule`` with its ``score`` (and JSON-ready ``details``); returns the path."""
    path = schedule_path(directory, schedule.num_steps)
    tf.io.gfile.makedirs(directory.join(SCHEDULES))
    record = dict(schedule.get_config(), score=float(score), **details)
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "w") as stream:
        stream.write(json.dumps(record, indent=1) + "\n")
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


def load_searched_schedule(directory, num_iterations):
    """``(NoiseSchedule, record dict)`` of the searched schedule, or ``(None, None)``."""
    path = schedule_path(directory, num_iterations)
    if not tf.io.gfile.exists(path):
        return None, None
    with tf.io.gfile.GFile(path) as stream:
        text = stream.read()
    try:
        record = json.loads(text)
        schedule = NoiseSchedule.from_config(record)
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise InvalidInputError(
            f"{path} is not a searched noise schedule ({error}); delete it or run "
            "`ttszoo schedule-search` again."
        ) from error
    if schedule.num_steps != int(num_iterations):
        raise InvalidInputError(
            f"{path} holds {schedule.num_steps} betas, not {num_iterations}; delete it or run "
            "`ttszoo schedule-search` again."
        )
    return schedule, record


def candidate_schedules(iterations, grid="mantissa", search_level=3, max_candidates=None, seed=0):
    """Beta sequences to score: the named schedule of ``iterations`` (if any) and a grid.

    ``grid="mantissa"`` is lmnt-com/wavegrad's ``search_level ** iterations`` grid,
    ``grid="wavegrad"`` ivanvovk/WaveGrad's digit grid; ``max_candidates`` keeps a seeded
    random subset of the grid.
    """
    if grid == "mantissa":
        candidates = mantissa_exponent_grid(iterations, search_level=search_level, seed=seed)
    elif grid == "wavegrad":
        candidates = wavegrad_grid(iterations)
    else:
        raise InvalidInputError(f"grid must be 'mantissa' or 'wavegrad', got {grid!r}.")
    if max_candidates is not None and max_candidates < len(candidates):
        keep = np.random.default_rng(seed).choice(len(candidates), max_candidates, replace=False)
        candidates = [candidates[i] for i in sorted(keep)]
    if iterations in INFERENCE_ITERATIONS:
        candidates.insert(0, NoiseSchedule.inference(iterations).betas)
    return candidates
