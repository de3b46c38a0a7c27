"""Mel-cepstral distortion against hand-worked values and an independent numpy reading."""

import numpy as np
import pytest

from ttszoo.audio import AudioConfig
from ttszoo.evaluation import distance
from ttszoo.evaluation.spectral import mcd_costs, mel_cepstra, utterance_features

BANDS = 20


def frame_mcd(a_db, b_db, order=BANDS - 1):
    return float(mcd_costs(mel_cepstra(a_db[None], order), mel_cepstra(b_db[None], order))[0, 0])


def test_identical_frames_and_level_offsets_cost_nothing():
    frame = np.random.default_rng(0).normal(-40, 10, BANDS)
    assert frame_mcd(frame, frame) == 0.0
    # c_0 (the level) is excluded: 6 dB louder everywhere is the same spectral shape.
    assert frame_mcd(frame, frame + 6.0) == pytest.approx(0.0, abs=1e-9)


def test_a_cosine_ripple_of_a_decibels_costs_a_over_root_two():
    # A ripple of amplitude a dB at quefrency 3 is one mel-cepstral coefficient:
    # c_3 = a * ln(10) / 40 (one-sided cepstrum of the natural-log amplitude), so
    # MCD = 10 / ln 10 * sqrt(2) * a * ln(10) / 40 = a / sqrt(2) = 4.2426 dB for a = 6.
    n = np.arange(BANDS)
    ripple = 6.0 * np.cos(np.pi * 3 * (n + 0.5) / BANDS)
    frame = np.full(BANDS, -30.0)
    assert frame_mcd(frame, frame + ripple) == pytest.approx(6.0 / np.sqrt(2), rel=1e-9)
    # Quefrency 3 is above order 2: it does not count there.
    assert frame_mcd(frame, frame + ripple, order=2) == pytest.approx(0.0, abs=1e-9)
    # A constant offset on top changes nothing.
    assert frame_mcd(frame, frame + ripple + 10.0) == pytest.approx(6.0 / np.sqrt(2), rel=1e-9)


def test_full_order_mcd_is_the_spread_of_the_decibel_difference():
    # Parseval: with every coefficient but c_0, MCD is the standard deviation over the mel
    # bands of the two frames' dB difference.
    rng = np.random.default_rng(1)
    a, b = rng.normal(-40, 10, (2, BANDS))
    assert frame_mcd(a, b) == pytest.approx(np.std(a - b), rel=1e-9)


def test_order_must_leave_room_in_the_mel_bands():
    with pytest.raises(ValueError, match=r"\[1, 19\]"):
        mel_cepstra(np.zeros((2, BANDS)), order=BANDS)


def test_identical_utterances_are_zero_apart_and_different_ones_are_not():
    config = AudioConfig(sample_rate=8000, hop_length=80, win_length=256, n_fft=256, n_mels=20)
    t = np.arange(8000) / 8000
    low = 0.5 * np.sin(2 * np.pi * 300 * t) * np.hanning(len(t))
    high = 0.5 * np.sin(2 * np.pi * 1800 * t) * np.hanning(len(t))
    a, b = (utterance_features(w, config, order=12) for w in (low, high))
    assert a.cepstra.shape[1] == 13 and a.log_mel.shape == (len(a.mel), 20)
    assert distance("mcd", a, a) == 0.0 and distance("logmel_l1", a, a) == 0.0
    assert distance("mcd", a, b) > 1.0 and distance("logmel_l1", a, b) > 0.1
    # A silent synthesis is analysed whole instead of trimmed to nothing.
    silent = utterance_features(np.zeros(800), config, order=12)
    assert len(silent.mel) == 10 and silent.seconds == 0.1
