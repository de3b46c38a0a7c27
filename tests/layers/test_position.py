"""Sinusoidal position encodings and the position prior (numpy known answers)."""

import numpy as np

from ttszoo.layers.position import position_prior, sinusoidal_encoding


def test_sinusoidal_encoding_known_answer_at_subsampled_positions():
    positions = np.arange(4) * 3  # decoder steps at r = 3 sit at frames 0, 3, 6, 9
    rates = 10000.0 ** (-2 * np.arange(3) / 6)
    expected = np.concatenate(
        [np.sin(positions[:, None] * rates), np.cos(positions[:, None] * rates)], axis=1
    )
    np.testing.assert_allclose(sinusoidal_encoding(positions, 6).numpy(), expected, atol=1e-5)


def test_position_prior_is_a_sum_of_cosines_of_the_distance():
    queries = np.arange(5, dtype=np.float32)
    keys = 1.5 * np.arange(4, dtype=np.float32)  # keys at rate 1.5
    rates = 10000.0 ** (-2 * np.arange(4) / 8)
    distance = queries[:, None] - keys[None, :]
    expected = np.cos(distance[..., None] * rates).sum(-1)
    prior = position_prior(queries, keys, 8).numpy()
    np.testing.assert_allclose(prior, expected, atol=1e-5)
    # D / 2 where a query meets its key (t = 0, n = 0 and t = 3, n = 2), less elsewhere.
    np.testing.assert_allclose([prior[0, 0], prior[3, 2]], 4.0, atol=1e-5)
    assert np.all(prior[3] <= prior[3, 2] + 1e-6)
