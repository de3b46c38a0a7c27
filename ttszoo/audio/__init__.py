"""Audio I/O and features: numpy/librosa for preprocessing, tf.signal in-graph.

The TensorFlow parts (``tf_spectrogram``, ``griffin_lim``) are imported lazily so that worker
processes that only compute numpy features never load TensorFlow.
"""

import importlib

from ttszoo.audio.config import AudioConfig
from ttszoo.audio.io import AUDIO_FORMATS, AudioError, check_audio_path, load_wav, save_wav
from ttszoo.audio.spectrogram import AudioFeatures, compute_features, denormalize_db, normalize_db


def __getattr__(name):
    if name == "griffin_lim":
        return importlib.import_module("ttszoo.audio.reconstruction").griffin_lim
    if name in ("tf_spectrogram", "reconstruction"):
        return importlib.import_module(f"ttszoo.audio.{name}")
    raise AttributeError(f"module 'ttszoo.audio' has no attribute {name!r}")


__all__ = [
    "AudioConfig",
    "AudioError",
    "AudioFeatures",
    "compute_features",
    "denormalize_db",
    "griffin_lim",
    "load_wav",
    "normalize_db",
    "save_wav",
    "check_audio_path",
    "AUDIO_FORMATS",
    "tf_spectrogram",
]
