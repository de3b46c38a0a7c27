"""Corpora, preprocessing to TFRecords and the tf.data pipeline.

``make_dataset`` and the record codec need TensorFlow and are imported lazily, so worker
processes that only extract features never load it.
"""

import importlib

from ttszoo.data.demo_corpus import (
    CORPUS_SIZES,
    build_demo_corpus,
    default_corpus_dir,
    demo_sentences,
    held_out_long_sentences,
    held_out_sentences,
)
from ttszoo.data.features import (
    Feature,
    FeatureError,
    FeatureSource,
    get_feature,
    register_feature,
)
from ttszoo.data.ljspeech import CorpusProblem, Utterance, read_ljspeech
from ttszoo.data.preprocess import PreprocessSummary, preprocess_corpus

_LAZY = {"make_dataset": "ttszoo.data.pipeline", "bucket_boundaries": "ttszoo.data.pipeline"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ttszoo.data' has no attribute {name!r}")


__all__ = [
    "CORPUS_SIZES",
    "CorpusProblem",
    "Feature",
    "FeatureError",
    "FeatureSource",
    "PreprocessSummary",
    "Utterance",
    "bucket_boundaries",
    "build_demo_corpus",
    "default_corpus_dir",
    "demo_sentences",
    "held_out_long_sentences",
    "get_feature",
    "held_out_sentences",
    "make_dataset",
    "preprocess_corpus",
    "read_ljspeech",
    "register_feature",
]
