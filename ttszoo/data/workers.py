"""Feature extraction in worker subprocesses that never load TensorFlow or the caller's script.

Each worker is ``python -c "from ttszoo.data.workers import serve; serve()"``: unlike a
``multiprocessing`` pool it does not re-import the caller's ``__main__`` (which may import
TensorFlow, or lack an ``if __name__ == "__main__":`` guard). The parent writes jobs to the
worker's stdin as JSON lines; the worker answers each job with one frame on stdout -- a header
(kind, payload length) and either an ``.npz`` archive of the features, read back with
``allow_pickle=False``, or the text of the problem. Jobs go out round-robin, so results come
back in job order and the output is deterministic.
"""

import io
import json
import struct
import subprocess
import sys
import threading

import numpy as np

from ttszoo.audio.config import AudioConfig
from ttszoo.audio.io import AudioError, load_wav
from ttszoo.audio.spectrogram import AudioFeatures, compute_features

_HEADER = struct.Struct("<cQ")
_FEATURES, _PROBLEM = b"F", b"P"
_COMMAND = [sys.executable, "-c", "from ttszoo.data.workers import serve; serve()"]


def features_of(job):
    """``(id, wav path, AudioConfig dict)`` -> ``(id, AudioFeatures or None, problem or None)``."""
    item_id, path, config_values = job
    config = AudioConfig.from_dict(config_values)
    try:
        return item_id, compute_features(load_wav(path, config.sample_rate), config), None
    except (AudioError, ValueError) as error:
        return item_id, None, str(error)


def serve():
    """Worker main loop: a JSON job per stdin line, a frame per job on stdout."""
    out = sys.stdout.buffer
    for line in sys.stdin:
        _, features, problem = features_of(json.loads(line))
        if problem is None:
            buffer = io.BytesIO()
            np.savez(buffer, waveform=features.waveform, linear=features.linear, mel=features.mel)
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
                yield job[0], None, payload.decode("utf-8")
            else:
                with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
                    yield (
                        job[0],
                        AudioFeatures(arrays["waveform"], arrays["linear"], arrays["mel"]),
                        None,
                    )
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
            worker.stdout.close()
