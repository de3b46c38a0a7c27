"""Floor, ceiling, d_rel and retrieval on hand-made distance matrices and tiny utterances."""

import numpy as np
import pytest

from ttszoo.audio import AudioConfig
from ttszoo.evaluation.evaluator import score_distances
from ttszoo.evaluation.scoring import ceilings, length_bucket, relative_distance, retrieved
from ttszoo.evaluation.spectral import utterance_features

MATRIX = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])


def test_ceilings_are_the_mean_distance_to_the_other_references():
    np.testing.assert_allclose(ceilings(MATRIX), [2.5, 5.0, 7.5])


def test_retrieval_needs_the_own_reference_strictly_closest():
    np.testing.assert_array_equal(retrieved(MATRIX), [True, False, False])
    np.testing.assert_array_equal(retrieved([[1.0, 1.0], [2.0, 1.0]]), [False, True])
    with pytest.raises(ValueError, match="at least 2"):
        retrieved([[1.0]])


def test_relative_distance():
    np.testing.assert_allclose(relative_distance([2.0, 6.0, 1.0], 2.0, 6.0), [0.0, 1.0, -0.25])
    assert np.isnan(relative_distance(3.0, 2.0, 2.0))


def test_length_buckets():
    assert [length_bucket("x" * n) for n in (39, 40, 80, 81)] == ["< 40", "40-80", "40-80", "> 80"]


CONFIG = AudioConfig(sample_rate=8000, hop_length=80, win_length=256, n_fft=256, n_mels=20)


def utterance(pitches, noise=0.0, seed=0):
    """A tone sequence, one 0.15 s note per pitch (Hz), optionally with added noise."""
    t = np.arange(1200) / 8000
    notes = [0.4 * np.sin(2 * np.pi * f * t) * np.hanning(len(t)) for f in pitches]
    waveform = np.concatenate(notes)
    waveform += noise * np.random.default_rng(seed).normal(size=waveform.shape)
    return utterance_features(waveform.astype(np.float32), CONFIG, order=12)


SENTENCES = [(300, 600, 900), (1500, 400, 2500), (2000, 2200, 700), (500, 3000, 1200)]


@pytest.fixture(scope="module")
def references_and_floors():
    references = [utterance(p) for p in SENTENCES]
    floors = [utterance(p, noise=0.01, seed=i) for i, p in enumerate(SENTENCES)]
    return references, floors


def test_a_synthesis_equal_to_the_vocoded_reference_scores_the_floor(references_and_floors):
    references, floors = references_and_floors
    scores = score_distances(floors, references, floors)
    for metric in ("mcd", "logmel_l1"):
        np.testing.assert_array_equal(scores[metric]["d_rel"], 0.0)
        assert (scores[metric]["floor"] > 0).all()
        assert (scores[metric]["ceiling"] > scores[metric]["floor"]).all()
        assert scores[metric]["retrieved"].all()


def test_a_shuffled_pairing_lowers_retrieval_and_raises_d_rel(references_and_floors):
    references, floors = references_and_floors
    syntheses = [utterance(p, noise=0.02, seed=10 + i) for i, p in enumerate(SENTENCES)]
    paired = score_distances(syntheses, references, floors)
    order = [1, 2, 3, 0]  # each synthesis is now of another sentence than its reference
    shuffled = score_distances([syntheses[i] for i in order], references, floors)
    for metric in ("mcd", "logmel_l1"):
        assert paired[metric]["retrieved"].mean() == 1.0
        assert shuffled[metric]["retrieved"].mean() == 0.0
        # Paired: nearer the floor than the ceiling; shuffled: beyond the ceiling, because the
        # ceiling of a wrong pairing averages over references that include the right one.
        assert paired[metric]["d_rel"].max() < 0.7
        assert shuffled[metric]["d_rel"].min() > 1.0
