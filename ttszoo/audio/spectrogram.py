"""Spectrogram features with numpy and librosa, used for preprocessing.

``tf_spectrogram`` computes the same features inside a TensorFlow graph; the two agree within
the tolerance stated in ``tests/audio/test_spectrogram.py``. Conventions (dc_tts;
docs/references.md, Audio features): pre-emphasis, a centred STFT (zero padding of
``n_fft // 2``) with a periodic Hann
window of ``win_length`` samples, magnitude (power 1), a Slaney-normalised mel bank applied
to the magnitude, then dB normalisation into [0, 1].
"""

import dataclasses

import librosa
import numpy as np

from ttszoo.errors import InvalidInputError

AMPLITUDE_FLOOR = 1e-5
NORMALISED_FLOOR = 1e-8


@dataclasses.dataclass(frozen=True)
class AudioFeatures:
    """Frame-aligned features of one utterance: ``len(waveform) == frames * hop_length``.

    Attributes:
      waveform: float32 ``[frames * hop_length]``, trimmed of leading/trailing silence.
      linear: float32 ``[frames, n_fft // 2 + 1]``, normalised log magnitude in [0, 1].
      mel: float32 ``[frames, n_mels]``, normalised log mel magnitude in [0, 1].
    """

    waveform: np.ndarray
    linear: np.ndarray
    mel: np.ndarray


def preemphasize(waveform, coefficient):
    """``y[t] = x[t] - coefficient * x[t - 1]`` (``y[0] = x[0]``); identity for 0."""
    if coefficient == 0:
        return waveform
    return np.append(waveform[:1], waveform[1:] - coefficient * waveform[:-1])


def magnitude(waveform, config):
    """Linear STFT magnitude ``[1 + len(waveform) // hop_length, n_fft // 2 + 1]`` (float32)."""
    spectrum = librosa.stft(
        preemphasize(np.asarray(waveform, dtype=np.float32), config.preemphasis),
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window="hann",
        center=True,
        pad_mode="constant",
    )
    return np.abs(spectrum).T.astype(np.float32)


def mel_basis(config):
    """Slaney-normalised mel filter bank ``[n_mels, n_fft // 2 + 1]`` (float32)."""
    return librosa.filters.mel(
        sr=config.sample_rate,
        n_fft=config.n_fft,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
    ).astype(np.float32)


def normalize_db(amplitude, config):
    """Amplitude -> dB -> [0, 1]: ``clip((20 log10(max(1e-5, a)) - ref_db + max_db) / max_db)``."""
    db = 20.0 * np.log10(np.maximum(AMPLITUDE_FLOOR, amplitude))
    return np.clip((db - config.ref_db + config.max_db) / config.max_db, NORMALISED_FLOOR, 1.0)


def denormalize_db(normalised, config):
    """Inverse of ``normalize_db`` for values inside its range: [0, 1] -> amplitude."""
    db = np.clip(normalised, 0.0, 1.0) * config.max_db - config.max_db + config.ref_db
    return np.power(10.0, db / 20.0)


def spectrograms(waveform, config):
    """Normalised linear ``[T, n_linear]`` and mel ``[T, n_mels]`` spectrograms, T = 1 + S // hop."""
    linear_magnitude = magnitude(waveform, config)
    mel_magnitude = linear_magnitude @ mel_basis(config).T
    return (
        normalize_db(linear_magnitude, config).astype(np.float32),
        normalize_db(mel_magnitude, config).astype(np.float32),
    )


def compute_features(waveform, config):
    """Trims silence and returns frame-aligned ``AudioFeatures`` of one utterance.

    Silence quieter than ``config.trim_top_db`` below the peak is cut from both ends, the
    waveform is cut to a whole number of hops, and the final (half-empty) centred frame is
    dropped, so that frame ``t`` covers samples ``[t * hop, (t + 1) * hop)`` on average and
    ``len(waveform) == frames * hop_length``.
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    if config.trim_top_db is not None:
        waveform, _ = librosa.effects.trim(
            waveform,
            top_db=config.trim_top_db,
            frame_length=config.win_length,
            hop_length=config.hop_length,
        )
    frames = len(waveform) // config.hop_length
    if frames < 1:
        raise InvalidInputError(
            f"Audio of {len(waveform)} samples is shorter than one hop ({config.hop_length} samples)."
        )
    waveform = waveform[: frames * config.hop_length]
    linear, mel = spectrograms(waveform, config)
    return AudioFeatures(waveform=waveform, linear=linear[:frames], mel=mel[:frames])
