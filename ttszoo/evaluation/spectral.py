"""Spectral features of an utterance for the distances of ``ttszoo evaluate``.

Every waveform, synthesized or recorded, goes through the features the models train on
(``ttszoo.audio.compute_features``: silence trimmed at ``trim_top_db``, pre-emphasis, the mel
bank, the dB floor), so the two sides of a comparison are analysed alike. From the normalised
mel come:

* the natural-log mel amplitude ``[T, n_mels]`` (the log-mel L1 distance, in nepers);
* mel-cepstra ``[T, order + 1]``: librosa's MFCCs (type-II DCT, orthonormal) of the mel in dB,
  rescaled to the convention of the mel-cepstral distortion formula, the one-sided cepstrum
  of the natural-log amplitude (as SPTK's mel-cepstra): ``c_d = mfcc_d * ln(10) / 20 *
  sqrt(2 / n_mels)``.

Mel-cepstral distortion of two frames (Kubichek 1993; the ``10 / ln 10`` convention of
Kominek et al. 2008), the energy term ``c_0`` excluded:

    MCD = 10 / ln(10) * sqrt(2 * sum_{d=1..order} (c_d - c'_d)^2)   [dB]

With that scaling and ``order = n_mels - 1``, Parseval's theorem makes MCD the root mean square
over the mel bands of the two frames' dB difference less its mean: a level offset costs 0 dB
and a ripple of ``a`` dB across the bands costs ``a / sqrt(2)`` dB (docs/evaluation.md).
"""

import dataclasses

import librosa
import numpy as np

from ttszoo.audio import compute_features, denormalize_db
from ttszoo.errors import InvalidInputError
from ttszoo.evaluation.dtw import euclidean_costs

MCD_SCALE = 10.0 / np.log(10.0) * np.sqrt(2.0)
DEFAULT_ORDER = 24


@dataclasses.dataclass(frozen=True)
class UtteranceFeatures:
    """One utterance analysed for the distances.

    Attributes:
      mel: float32 ``[T, n_mels]``, the normalised mel in [0, 1] (what the models produce).
      log_mel: float64 ``[T, n_mels]``, the natural log of the mel amplitude.
      cepstra: float64 ``[T, order + 1]``, mel-cepstra (``c_0`` first).
      seconds: duration of the trimmed waveform.
    """

    mel: np.ndarray
    log_mel: np.ndarray
    cepstra: np.ndarray
    seconds: float


def mel_cepstra(mel_db, order=DEFAULT_ORDER):
    """Mel in dB ``[T, n_mels]`` -> mel-cepstra ``[T, order + 1]`` in the MCD convention."""
    mel_db = np.asarray(mel_db, np.float64)
    bands = mel_db.shape[-1]
    if not 1 <= order < bands:
        raise InvalidInputError(
            f"The mel-cepstral order must be in [1, n_mels - 1] = [1, {bands - 1}], got {order}."
        )
    mfcc = librosa.feature.mfcc(S=mel_db.T, n_mfcc=order + 1, dct_type=2, norm="ortho").T
    return mfcc * np.log(10.0) / 20.0 * np.sqrt(2.0 / bands)


def mcd_costs(cepstra, other):
    """Mel-cepstral distortion in dB of every frame pair: ``[I, D+1]``, ``[J, D+1]`` -> ``[I, J]``."""
    return MCD_SCALE * euclidean_costs(np.asarray(cepstra)[:, 1:], np.asarray(other)[:, 1:])


def utterance_features(waveform, audio_config, order=DEFAULT_ORDER):
    """Analyses a waveform at ``audio_config.sample_rate`` into ``UtteranceFeatures``.

    A waveform with nothing above the trimming threshold (silence) is analysed untrimmed.

    Raises:
      ValueError: for a waveform shorter than one hop.
    """
    waveform = np.asarray(waveform, np.float32)
    try:
        features = compute_features(waveform, audio_config)
    except ValueError:
        # Nothing above the trimming threshold (a silent synthesis): analyse it whole.
        untrimmed = dataclasses.replace(audio_config, trim_top_db=None)
        features = compute_features(waveform, untrimmed)
    log_mel = np.log(denormalize_db(features.mel.astype(np.float64), audio_config))
    mel_db = 20.0 / np.log(10.0) * log_mel
    return UtteranceFeatures(
        mel=features.mel,
        log_mel=log_mel,
        cepstra=mel_cepstra(mel_db, order),
        seconds=len(features.waveform) / audio_config.sample_rate,
    )
