"""The stall tool of the Transformer TTS robustness benchmark, on hand-made alignments."""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from transformer_tts_stalls import (  # noqa: E402
    control_start,
    ids_of_space,
    stalls_of_sentence,
    summary,
    symbol_class,
)

from ttszoo.text import Tokenizer  # noqa: E402


def test_symbol_classes():
    symbols = list("ab, cˈd.")
    assert [symbol_class(symbols, i) for i in range(len(symbols))] == [
        "inside a word",
        "inside a word",
        "punctuation",
        "space after punctuation",
        "inside a word",
        "stress mark",
        "inside a word",
        "punctuation",
    ]
    assert symbol_class(list("a b"), 1) == "word space"


def test_control_starts_after_a_word_space_far_enough_before_the_stall():
    ids = [5, 5, 2, 5, 5, 5, 2, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]  # 2 = space
    assert control_start(ids, 16, space_id=2) == 7  # the space at 6 is 10 symbols before
    assert control_start(ids, 12, space_id=2) == 3  # the one at 6 is only 6 before
    assert control_start(ids, 9, space_id=2) is None


class PathModel:
    """Stands in for a model: each text decodes to a one-hot path the test chose."""

    def __init__(self, paths):
        self.paths = paths

    def synthesize(self, ids):
        path = self.paths[ids.shape[1]]
        alignment = np.zeros((ids.shape[1], len(path)), np.float32)
        alignment[path, np.arange(len(path))] = 1.0
        return {"step_alignment": tf.constant(alignment[None]), "stopped": tf.constant([True])}


def test_a_stall_that_recurs_in_the_shorter_text():
    tokenizer = Tokenizer(symbols="characters")
    sentence = "aa bb cc dd ee ff"  # 17 characters and the end symbol
    ids = tokenizer.encode(sentence)
    n = len(ids)
    # The full text holds symbol 13 ('e' of "ee") for 20 steps; the control starts after the
    # space at 5 (8 symbols before 13) and holds its symbol 7, the same 'e', for 20 steps.
    full = list(range(14)) + [13] * 20 + list(range(14, n))
    short = list(range(8)) + [7] * 20 + list(range(8, n - 6))
    model = PathModel({n: full, n - 6: short})
    assert ids_of_space(tokenizer) == 2  # after the padding (0) and the end symbol (1)
    row = stalls_of_sentence(model, tokenizer, sentence, control=True, space_id=2)
    assert row["stalls"] == [(14, 20, 13)] and row["classes"] == ["inside a word"]
    assert row["control"] == {"start": 6, "recurs": True}
    result = summary([row, {**row, "stalls": [], "classes": []}], seconds_per_step=0.025)
    assert result["stalled"] == 1 and result["sentences"] == 2
    assert result["runs"] == {"inside a word": 1} and result["steps"] == {"inside a word": 20}
    assert result["first_stall_step_median"] == 14.0
    assert result["control_recurs"] == 1 and result["controls"] == 1
    assert result["longest_stall_seconds"] == [0.5]
