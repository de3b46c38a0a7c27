"""Searched inference noise schedules stored in a model directory.

``ttszoo schedule-search`` writes ``<model_dir>/noise_schedules/searched-<N>.json``:
``{"name", "betas", "score", "metric", "utterances", "candidates", "reference_scores"}``.
``search_model_schedule`` runs the search on a trained model; a diffusion vocoder reads the
searched schedule of its iteration count back in its ``restored(directory)`` hook
(``load_searched_schedule``), which the loader calls.
"""

import json

import numpy as np
import tensorflow as tf

import gin
from ttszoo.diffusion.schedules import INFERENCE_ITERATIONS, NoiseSchedule
from ttszoo.diffusion.search import mantissa_exponent_grid, search_schedule, wavegrad_grid
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


def _training_records_dir():
    """The ``train.records_dir`` of the operative config just loaded, or None."""
    try:
        value = gin.query_parameter("train.records_dir")
    except ValueError:
        return None
    if isinstance(value, gin.config.ConfigurableReference):
        value = value.scoped_configurable_fn()
    return value if isinstance(value, str) else None  # None, or gin.REQUIRED left unset


def held_out_batch(records_dir, utterances, max_frames):
    """Up to ``utterances`` validation utterances cut to one length: ``(mel, audio)`` tensors.

    The length is the shortest utterance's, at most ``max_frames`` frames, so that no padding
    enters the score. Returns ``mel [B, F, n_mels]`` and ``audio [B, F * hop]``.
    """
    from ttszoo.data import make_dataset, records

    available = len(records.read_features_file(records_dir)["splits"]["validation"]["mel_lengths"])
    count = min(utterances, available)
    batch = next(
        iter(
            make_dataset(
                records_dir,
                split="validation",
                batch_size=count,
                features=("mel", "audio"),
                num_buckets=1,
                shuffle=False,
                repeat=False,
            )
        )
    )
    frames = min(int(tf.reduce_min(batch["mel_length"])), max_frames)
    hop = batch["audio"].shape[1] // batch["mel"].shape[1]
    return batch["mel"][:, :frames], batch["audio"][:, : frames * hop]


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


def search_model_schedule(
    trained,
    iterations=6,
    records_dir=None,
    utterances=4,
    max_frames=128,
    grid="mantissa",
    search_level=3,
    max_candidates=None,
    seed=0,
    progress=True,
):
    """Searches an inference schedule for ``trained`` (``load_trained_model(model_dir)``, a
    diffusion vocoder with ``set_inference_schedule`` and ``clip``) and saves it.

    Every candidate (``candidate_schedules``) vocodes the held-out (validation) utterances of
    ``records_dir`` (default: the records the model was trained on) from their ground-truth
    mels with the same seed; the score is the mean log-mel L1 distance to the recorded audio
    (``ttszoo.evaluation.logmel``). The best schedule is written with its score to
    ``<model_dir>/noise_schedules/searched-<iterations>.json``, which the model loads in
    ``restored`` whenever its ``inference_iterations`` equals ``iterations``.

    Returns:
      The saved record (dict) plus ``"path"``.
    """
    model = trained.model
    if not hasattr(model, "set_inference_schedule"):
        raise InvalidInputError(
            f"{trained.directory.path} holds {trained.info.name!r}, which is not a diffusion vocoder; "
            "schedule search needs one (e.g. wavegrad)."
        )
    records_dir = records_dir or _training_records_dir() or trained.directory.records_dir()
    if records_dir is None:
        raise InvalidInputError(
            f"{trained.directory.path} does not say which records it was trained on; give --records_dir."
        )
    mel, audio = held_out_batch(records_dir, utterances, max_frames)
    candidates = candidate_schedules(iterations, grid, search_level, max_candidates, seed)
    best, scores = search_schedule(
        model,
        mel,
        audio,
        candidates,
        trained.audio_config.sample_rate,
        seed=seed,
        progress=progress,
        clip=model.clip,
    )
    named = iterations in INFERENCE_ITERATIONS
    details = {
        "metric": "mean |log-mel difference| (tf.signal, n_fft 1024, hop 256, 80 bands)",
        "utterances": int(mel.shape[0]),
        "frames": int(mel.shape[1]),
        "candidates": len(candidates),
        "grid": grid,
        "checkpoint_step": trained.step,
        "named_schedule_score": float(scores[0]) if named else None,
    }
    path = save_searched_schedule(trained.directory, best, float(np.min(scores)), **details)
    return dict(best.get_config(), score=float(np.min(scores)), path=path, **details)
