"""benchmarks/vocoder_quality.py's scores: the reference itself scores 0 and is retrieved, a
waveform of another sentence is not, and Griffin-Lim's copy synthesis sits in between."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from vocoder_quality import full_scores, griffin_lim_vocoder, load_vocoders  # noqa: E402

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
    for spec in ("runs/vocos", "=runs/vocos", "griffin_lim=runs/vocos"):
        with pytest.raises(InvalidInputError, match="NAME=MODEL_DIR"):
            load_vocoders([spec])
