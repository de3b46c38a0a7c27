"""benchmarks/vocoder_quality.py: the reference itself scores 0 and is retrieved, a waveform of
another sentence is not, and Griffin-Lim's copy synthesis sits in between; a vocoder that
predicts a linear spectrogram goes through Griffin-Lim; the extrapolation of a learning curve
against a hand-computed crossing; clear errors for bad specs."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from vocoder_quality import (  # noqa: E402
    crossing_step,
    full_scores,
    griffin_lim_vocoder,
    load_vocoders,
    model_vocoder,
    parse_spec,
)

from ttszoo.audio import AudioConfig  # noqa: E402
from ttszoo.errors import InvalidInputError  # noqa: E402
from ttszoo.evaluation.spectral import utterance_features  # noqa: E402

CONFIG = AudioConfig(
    sample_rate=8000,
    frame_shift_ms=None,
    frame_length_ms=None,
    hop_length=64,
    win_length=256,
    n_fft=256,
    n_mels=32,
    trim_top_db=None,
)


def tone_sequence(frequencies, seconds=0.3):
    """A waveform of consecutive tones: a different spectral path per 'sentence'."""
    t = np.arange(int(seconds * CONFIG.sample_rate)) / CONFIG.sample_rate
    return np.concatenate([0.5 * np.sin(2 * np.pi * f * t) for f in frequencies]).astype(np.float32)


@pytest.fixture(scope="module")
def sentences():
    waveforms = [tone_sequence(f) for f in ((300, 900), (1500, 400), (2500, 2000))]
    return waveforms, [utterance_features(w, CONFIG) for w in waveforms]


def test_the_references_themselves_score_zero_and_are_retrieved(sentences):
    waveforms, references = sentences
    scores = full_scores(waveforms, references, CONFIG)
    assert scores["mcd"] == pytest.approx(0.0, abs=1e-6)
    assert scores["logmel_l1"] == pytest.approx(0.0, abs=1e-6)
    assert scores["mcd_retrieval"] == 1.0
    assert scores["mcd_d_rel"] == pytest.approx(0.0, abs=1e-6)
    assert scores["mcd_ceiling"] > 1.0


def test_swapped_sentences_are_not_retrieved_and_griffin_lim_sits_between(sentences):
    waveforms, references = sentences
    swapped = full_scores(waveforms[1:] + waveforms[:1], references, CONFIG)
    assert swapped["mcd_retrieval"] == 0.0
    assert swapped["mcd_d_rel"] > 0.8
    vocode = griffin_lim_vocoder(CONFIG)
    copies = full_scores([vocode(r.mel) for r in references], references, CONFIG)
    assert 0.0 < copies["mcd"] < swapped["mcd"]
    assert copies["mcd_retrieval"] == 1.0


def test_vocoder_specs_need_a_name_and_a_directory():
    for spec in ("runs/vocos", "=runs/vocos", "griffin_lim=runs/vocos", "vocos="):
        with pytest.raises(InvalidInputError, match="NAME=MODEL_DIR"):
            load_vocoders([spec])
    with pytest.raises(InvalidInputError, match="number of diffusion iterations"):
        parse_spec("wavegrad=runs/wavegrad@six")
    assert parse_spec("wavegrad_50=runs/a@b/wavegrad@50") == (
        "wavegrad_50",
        "runs/a@b/wavegrad",
        50,
    )
    assert parse_spec("vocos=runs/vocos") == ("vocos", "runs/vocos", None)


def test_a_linear_spectrogram_vocoder_goes_through_griffin_lim_on_padded_frames():
    """SSRN (r = 4) on a 10-frame mel: padded to 12 frames, the 2 extra frames dropped, so the
    waveform is as long as Griffin-Lim's from 10 frames."""
    from ttszoo.models.dctts import SSRN

    ssrn = SSRN(n_mels=CONFIG.n_mels, n_linear=CONFIG.n_fft // 2 + 1, c=8, reduction_factor=4)
    vocode = model_vocoder(types.SimpleNamespace(model=ssrn, audio_config=CONFIG))
    mel = np.random.default_rng(0).uniform(0, 1, (10, CONFIG.n_mels)).astype(np.float32)
    waveform = vocode(mel)
    assert waveform.shape == griffin_lim_vocoder(CONFIG)(mel).shape
    assert np.all(np.isfinite(waveform)) and np.abs(waveform).max() > 0


def test_the_extrapolated_crossing_of_a_log_linear_curve_is_the_hand_computed_step():
    """A curve 10 - 2 ln(step) reaches -8 at ln(step) = 9: step e^9 = 8103.08; the first half
    of the curve (a bump here) is left out of the fit."""
    steps = [100, 200, 400, 800, 1600, 3200]
    points = [{"step": s, "mcd": 10 - 2 * np.log(s)} for s in steps]
    points[0]["mcd"] = 50.0
    fit = crossing_step(points, "mcd", -8.0)
    assert fit["step"] == pytest.approx(np.exp(9.0), rel=1e-9)
    assert (fit["a"], fit["b"]) == (pytest.approx(10.0), pytest.approx(-2.0))
    assert crossing_step(points, "mcd", 0.0)["step"] is None  # already below the target
    rising = [{"step": s, "mcd": np.log(s)} for s in steps]
    assert crossing_step(rising, "mcd", 0.0)["step"] is None
    with pytest.raises(InvalidInputError, match="at least 2 checkpoints"):
        crossing_step(points[:2], "mcd", -8.0)
