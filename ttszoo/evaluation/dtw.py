"""Dynamic time warping of two feature sequences, and the frame-pair costs it runs on.

The warping itself is librosa's (``librosa.sequence.dtw``, numba-compiled) with its default
step pattern: from ``(i, j)`` the path moves to ``(i + 1, j + 1)``, ``(i, j + 1)`` or
``(i + 1, j)``, each step adding the cost of the cell it enters, from ``(0, 0)`` to the last
frame of both sequences. The distance of two utterances is the mean cost along that path
(docs/evaluation.md).
"""

import dataclasses

import librosa
import numpy as np
from scipy.spatial.distance import cdist

from ttszoo.errors import InvalidInputError


@dataclasses.dataclass(frozen=True)
class Warping:
    """The cheapest monotonic path through a cost matrix.

    Attributes:
      path: int ``[K, 2]`` frame pairs ``(i, j)``, from ``(0, 0)`` to ``(I - 1, J - 1)``.
      total: the summed cost along the path.
      mean: ``total / K``, the distance of the two sequences.
    """

    path: np.ndarray
    total: float
    mean: float


def dtw(cost):
    """Warps along the cheapest path of ``cost`` ``[I, J]`` (non-negative frame-pair costs)."""
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 2 or 0 in cost.shape:
        raise InvalidInputError(
            f"dtw needs a non-empty [frames, frames] cost matrix, got {cost.shape}."
        )
    if not np.all(np.isfinite(cost)):
        raise InvalidInputError(
            "The DTW cost matrix holds NaN or inf; check the features compared."
        )
    accumulated, path = librosa.sequence.dtw(C=cost, backtrack=True)
    path = np.asarray(path[::-1], np.int64)
    total = float(accumulated[-1, -1])
    return Warping(path=path, total=total, mean=total / len(path))


def l1_costs(a, b):
    """Mean absolute difference of every frame pair: ``[I, F]``, ``[J, F]`` -> ``[I, J]``."""
    a, b = _frames(a, b)
    return cdist(a, b, "cityblock") / a.shape[1]


def euclidean_costs(a, b):
    """Euclidean distance of every frame pair: ``[I, F]``, ``[J, F]`` -> ``[I, J]``."""
    a, b = _frames(a, b)
    return cdist(a, b, "euclidean")


def _frames(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or 0 in a.shape + b.shape:
        raise InvalidInputError(
            f"Need two non-empty [frames, features] arrays with the same features, got {a.shape} "
            f"and {b.shape}."
        )
    return a, b
