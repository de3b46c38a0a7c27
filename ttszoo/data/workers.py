"""Feature extraction in worker subprocesses that never load TensorFlow or the caller's script.

Each worker is ``python -c "from ttszoo.data.workers import serve; serve()"``: unlike a
``multiprocessing`` pool it does not re-import the caller's ``__main__`` (which may import
TensorFlow, or lack an ``if __name__ == "__main__":`` guard). The parent writes jobs to the
worker's stdin as JSON lines; the worker answers each job with one frame on stdout -- a header
(kind, payload length) and either an ``.npz`` archive of the declared features
(``ttszoo.data.features``) the job names, read back with
``allow_pickle=False``, or the text of the problem. Jobs go out round-robin, so results come
back in job order and the output is deterministic.
"""

import importlib
import io
import json
import struct
import subprocess
import sys
import threading

import numpy as np

from ttszoo.audio.config import AudioConfig
from ttszoo.audio.io import AudioError, load_wav
from ttszoo.audio.spectrogram import compute_features
from ttszoo.data.features import FRAMES, TOKENS, FeatureSource, get_feature

_HEADER = struct.Struct("<cQ")
_FEATURES, _PROBLEM = b"F", b"P"
_COMMAND = [sys.executable, "-c", "from ttszoo.data.workers import serve; serve()"]


def features_of(job):
    """Computes the declared features of one corpus row.

    Args:
      job: a dict with ``id``, ``wav`` (path), ``audio_config`` (``AudioConfig.to_dict()``),
        ``token_ids``, ``speaker_id`` (or ``None``), ``features`` (names) and ``modules`` (the
        modules that declare them, imported first by worker processes).

    Returns:
      ``(id, arrays, None)`` with ``arrays`` a dict of every named feature's value plus
      ``"frames"`` (the utterance's frame count), or ``(id, None, problem)`` for unusable audio.
    """
    item_id, token_ids = job["id"], job["token_ids"]
    config = AudioConfig.from_dict(job["audio_config"])
    try:
        audio = compute_features(load_wav(job["wav"], config.sample_rate), config)
    except (AudioError, ValueError) as error:
        return item_id, None, str(error)
    source = FeatureSource(token_ids, audio, job["speaker_id"])
    lengths = {FRAMES.name: audio.mel.shape[0], TOKENS.name: len(token_ids)}
    arrays = {name: get_feature(name).computed(source, config, lengths) for name in job["features"]}
    arrays["frames"] = np.asarray(lengths[FRAMES.name], np.int64)
    return item_id, arrays, None


def serve():
    """Worker main loop: a JSON job per stdin line, a frame per job on stdout."""
    out = sys.stdout.buffer
    for line in sys.stdin:
        job = json.loads(line)
        for module in job["modules"]:  # features declared outside ttszoo register on import
            importlib.import_module(module)
        _, arrays, problem = features_of(job)
        if problem is None:
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            kind, payload = _FEATURES, buffer.getvalue()
        else:
            kind, payload = _PROBLEM, problem.encode("utf-8")
        out.write(_HEADER.pack(kind, len(payload)))
        out.write(payload)
        out.flush()


def _feed(stream, jobs):
    with stream:
        for job in jobs:
            stream.write((json.dumps(job) + "\n").encode("utf-8"))


def _read_exactly(worker, size):
    data = worker.stdout.read(size)
    if len(data) != size:
        worker.wait()
        raise RuntimeError(
            f"A feature-extraction worker stopped (exit code {worker.returncode}); see its error above."
        )
    return data


def extract_in_subprocesses(jobs, num_workers):
    """Yields ``features_of(job)`` for every job, in order, computed by ``num_workers`` processes."""
    workers = [
        subprocess.Popen(_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(num_workers)
    ]
    for index, worker in enumerate(workers):
        threading.Thread(
            target=_feed, args=(worker.stdin, jobs[index::num_workers]), daemon=True
        ).start()
    try:
        for index, job in enumerate(jobs):
            worker = workers[index % num_workers]
            kind, size = _HEADER.unpack(_read_exactly(worker, _HEADER.size))
            payload = _read_exactly(worker, size)
            if kind == _PROBLEM:
                yield job["id"], None, payload.decode("utf-8")
            else:
                with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
                    yield job["id"], {name: arrays[name] for name in arrays.files}, None
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
            worker.stdout.close()
