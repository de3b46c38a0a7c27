"""Searching a trained diffusion vocoder's inference noise schedule (``ttszoo schedule-search``).

The search itself is ``ttszoo.diffusion.search``; this module feeds it a trained model and the
held-out utterances of its records, and stores the best schedule in the model directory with
``ttszoo.diffusion.searched_schedules.save_searched_schedule`` (docs/wavegrad.md).
"""

import numpy as np
import tensorflow as tf

import gin
from ttszoo.diffusion.schedules import INFERENCE_ITERATIONS
from ttszoo.diffusion.search import search_schedule
from ttszoo.diffusion.searched_schedules import candidate_schedules, save_searched_schedule
from ttszoo.errors import InvalidInputError


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
