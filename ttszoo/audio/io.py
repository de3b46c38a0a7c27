"""Reading and writing audio files, with errors that name the file and the problem."""

from pathlib import Path

import numpy as np
import soundfile

from ttszoo.errors import InvalidInputError, TTSZooError

SILENCE_THRESHOLD = 1e-4
"""Peak amplitude (full scale = 1) under which a file counts as silent."""


class AudioError(TTSZooError, ValueError):
    """An audio file that cannot be used: missing, unreadable, empty, silent or non-finite."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def load_wav(path, sample_rate):
    """Reads an audio file as mono float32 in [-1, 1] at ``sample_rate``.

    Stereo (or more channels) is mixed down by averaging; other rates are resampled with
    librosa (soxr, high quality).

    Args:
      path: file soundfile can read (wav, flac, ogg, ...).
      sample_rate: the rate, in Hz, of the returned waveform.

    Returns:
      float32 array of shape ``[num_samples]``.

    Raises:
      AudioError: the file is missing, unreadable, empty, silent or holds NaN/inf samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "file not found")
    try:
        waveform, file_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise AudioError(path, f"unreadable audio ({error})") from error
    waveform = waveform.mean(axis=1)
    if waveform.size == 0:
        raise AudioError(path, "empty audio (no samples)")
    if not np.all(np.isfinite(waveform)):
        raise AudioError(path, "non-finite samples (NaN or inf)")
    if np.max(np.abs(waveform)) < SILENCE_THRESHOLD:
        raise AudioError(path, f"silent audio (peak below {SILENCE_THRESHOLD})")
    if file_rate != sample_rate:
        import librosa

        waveform = librosa.resample(waveform, orig_sr=file_rate, target_sr=sample_rate)
    return waveform.astype(np.float32)


# File extension -> (libsndfile format, subtype) of the audio files ttszoo writes.
AUDIO_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


def check_audio_path(path):
    """Returns the ``(format, subtype)`` that ``path``'s extension asks for.

    Raises:
      InvalidInputError: the extension is not one of ``AUDIO_FORMATS``; the message lists them.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in AUDIO_FORMATS:
        raise InvalidInputError(
            f"Cannot write {path}: audio files are written as {', '.join(AUDIO_FORMATS)}, chosen "
            f"by the extension; got {suffix or 'no extension'!r}. Name the file e.g. "
            f"{Path(path).with_suffix('.wav').name}."
        )
    return AUDIO_FORMATS[suffix]


def save_wav(path, waveform, sample_rate):
    """Writes a mono waveform, clipping to [-1, 1], in the format of the extension of ``path``:
    ``.wav`` (16-bit PCM), ``.flac`` (16-bit) or ``.ogg`` (Vorbis).

    Args:
      path: destination; parent folders are created.
      waveform: array-like of shape ``[num_samples]`` (a ``[1, num_samples]`` batch is accepted).
      sample_rate: rate in Hz.

    Returns:
      The ``Path`` written.

    Raises:
      InvalidInputError: another extension (the message lists the supported ones), or a
        waveform that is not mono or holds NaN / inf.
    """
    audio_format, subtype = check_audio_path(path)
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim == 2 and waveform.shape[0] == 1:
        waveform = waveform[0]
    if waveform.ndim != 1:
        raise InvalidInputError(
            f"save_wav needs a mono waveform of shape [num_samples], got {waveform.shape}."
        )
    if not np.all(np.isfinite(waveform)):
        raise InvalidInputError(f"Refusing to write {path}: the waveform holds NaN or inf samples.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(
        str(path),
        np.clip(waveform, -1.0, 1.0),
        int(sample_rate),
        format=audio_format,
        subtype=subtype,
    )
    return path
