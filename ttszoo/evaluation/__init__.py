"""Evaluation: does a model say its text? Alignment failures, distances to references, reports.

``evaluate`` / ``Evaluator`` run ``ttszoo evaluate`` (docs/evaluation.md); the pieces are
importable on their own: ``alignment_report`` (skips, repeats, stalls), ``stall_runs`` (where
an alignment stops making progress), ``focus_rate``,
``attention_spread``, ``dtw``, the mel-cepstral and log-mel features (``utterance_features``,
``mel_cepstra``, ``mcd_costs``), the set scores (``ceilings``, ``relative_distance``,
``retrieved``) and the text-reliance probes of teacher-forced models (``previous_frame_l1``,
``reversed_texts``, ``symbol_probe_accuracy``).

``Evaluator``, ``evaluate`` and ``distance`` load lazily: the evaluator imports the Synthesizer
and with it the models, and the diffusion models themselves import ``evaluation.logmel``.
"""

import importlib

from ttszoo.evaluation.alignment import (
    alignment_report,
    attention_spread,
    default_max_stay,
    diagonality,
    failure_rates,
    focus_rate,
    stall_runs,
)
from ttszoo.evaluation.dtw import Warping, dtw, euclidean_costs, l1_costs
from ttszoo.evaluation.scoring import (
    LENGTH_BUCKETS,
    ceilings,
    length_bucket,
    relative_distance,
    retrieved,
)
from ttszoo.evaluation.spectral import UtteranceFeatures, mcd_costs, mel_cepstra, utterance_features
from ttszoo.evaluation.text_reliance import (
    previous_frame_l1,
    reversed_texts,
    symbol_probe_accuracy,
)

__all__ = [
    "LENGTH_BUCKETS",
    "Evaluator",
    "UtteranceFeatures",
    "Warping",
    "alignment_report",
    "attention_spread",
    "ceilings",
    "default_max_stay",
    "diagonality",
    "distance",
    "dtw",
    "euclidean_costs",
    "evaluate",
    "failure_rates",
    "focus_rate",
    "l1_costs",
    "length_bucket",
    "mcd_costs",
    "mel_cepstra",
    "previous_frame_l1",
    "relative_distance",
    "retrieved",
    "reversed_texts",
    "stall_runs",
    "symbol_probe_accuracy",
    "utterance_features",
]


def __getattr__(name):
    if name in ("Evaluator", "evaluate", "distance"):
        return getattr(importlib.import_module("ttszoo.evaluation.evaluator"), name)
    raise AttributeError(f"module 'ttszoo.evaluation' has no attribute {name!r}")
