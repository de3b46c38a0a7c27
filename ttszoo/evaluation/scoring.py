"""Scores over a set of sentences: relative distance, retrieval and length buckets.

``distances[i, j]`` is the distance of sentence i's synthesis to sentence j's reference, so the
diagonal holds each synthesis against its own reference. From it (docs/evaluation.md):

* the ceiling of sentence i: the mean of row i off the diagonal, how far the synthesis is from
  recordings of other sentences;
* ``d_rel = (d - floor) / (ceiling - floor)`` with the floor the distance that vocoding the
  reference itself leaves: 0 is as close as the vocoder allows, 1 is no closer than to another
  sentence;
* retrieval: sentence i is retrieved when its own reference is strictly the closest one.
"""

import numpy as np

from ttszoo.errors import InvalidInputError

LENGTH_BUCKETS = ("< 40", "40-80", "> 80")
"""Text lengths in characters: under 40, 40 to 80 inclusive, over 80."""


def length_bucket(text):
    """The ``LENGTH_BUCKETS`` entry of ``text`` by its number of characters."""
    if len(text) < 40:
        return LENGTH_BUCKETS[0]
    return LENGTH_BUCKETS[1] if len(text) <= 80 else LENGTH_BUCKETS[2]


def _square(distances):
    distances = np.asarray(distances, np.float64)
    if distances.ndim != 2 or distances.shape[0] != distances.shape[1] or len(distances) < 2:
        raise InvalidInputError(
            "Ceilings and retrieval compare each synthesis with the other sentences' references: "
            f"they need a square [sentences, sentences] matrix of at least 2, got {distances.shape}."
        )
    return distances


def ceilings(distances):
    """``[S]``: the mean distance of each synthesis to the other sentences' references."""
    distances = _square(distances)
    off_diagonal = ~np.eye(len(distances), dtype=bool)
    return np.array([row[mask].mean() for row, mask in zip(distances, off_diagonal, strict=True)])


def retrieved(distances):
    """``[S]`` bool: each synthesis is strictly closer to its own reference than to any other."""
    distances = _square(distances)
    others = np.where(np.eye(len(distances), dtype=bool), np.inf, distances)
    return np.diag(distances) < others.min(axis=1)


def relative_distance(distance, floor, ceiling):
    """``(distance - floor) / (ceiling - floor)``; NaN where the ceiling is not above the floor."""
    distance, floor, ceiling = (np.asarray(x, np.float64) for x in (distance, floor, ceiling))
    span = ceiling - floor
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(span > 0, (distance - floor) / np.where(span > 0, span, 1.0), np.nan)
