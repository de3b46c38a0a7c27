"""The stall tool of the Transformer TTS robustness benchmark, on hand-made alignments."""

import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from transformer_tts_stalls import (  # noqa: E402
    anatomy_summary,
    control_start,
    ids_of_space,
    phone_class,
    stall_anatomy,
    stalls_of_sentence,
    summary,
    symbol_class,
    symbol_steps,
    teacher_forced_alignment,
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
        return {
            "step_alignment": tf.constant(alignment[None]),
            "stopped": tf.constant([True]),
            "mel": tf.zeros([1, len(path), 2]),
            "mel_length": tf.constant([len(path)]),
        }


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


def test_phone_classes():
    symbols = ["k", "ˈ", "ɑ", "ː", "t", ",", " ", "a", ""]
    assert [phone_class(symbols, i) for i in range(len(symbols) + 1)] == [
        "consonant",
        "stress mark",
        "vowel",
        "length mark",
        "consonant",
        "punctuation",
        "word space",
        "vowel",
        None,  # the end symbol
        None,  # past the text
    ]


def test_stall_anatomy_against_hand_computed_values():
    # The most attended symbol goes 0, 1, 1, 1, 1, 2: one stall of 3 steps on symbol 1.
    alignment = np.zeros((4, 6))
    alignment[0, 0] = alignment[1, 1] = alignment[2, 5] = 1.0
    alignment[:, 2] = [0, 0.6, 0.4, 0]
    alignment[:, 3] = [0, 0.5, 0.2, 0.3]
    alignment[:, 4] = [0, 0.4, 0.3, 0.3]
    # r = 2: steps 2 to 4 are frames 4 to 9, quiet (means 0.02 and 0.04) and alternating.
    levels = [1, 0, 1, 0, 0.02, 0.04, 0.02, 0.04, 0.02, 0.04, 1, 0]
    mel = np.repeat(np.array(levels)[:, None], 2, axis=1)
    decoded = {"alignment": alignment, "mel": mel}
    anatomy = stall_anatomy(
        (2, 3, 1),
        ["a", "k", "ˈ", ""],
        decoded,
        r=2,
        silence_threshold=0.05,
        taught_steps=[1, 3, 1, 0],
    )
    # Mean frame change: 0.02 during the stall; (4 * 1 + 0.02 + 5 * 0.02 + 0.96) / 11 overall.
    assert anatomy["relative_frame_change"] == pytest.approx(0.02 / (5.08 / 11))
    assert anatomy["silent_share"] == 1.0
    # Mean position 1 at step 1 (the step that reached the symbol), 0.4 + 0.6 + 0.9 at step 4.
    assert anatomy["position_advance"] == pytest.approx(0.9)
    assert anatomy["held_weight"] == pytest.approx((0.6 + 0.5 + 0.4) / 3)
    assert anatomy["next_class"] == "stress mark" and anatomy["teacher_forced_steps"] == 3


class TeacherForcedModel:
    """Stands in for a model called teacher-forced: returns a fixed alignment layer output."""

    reduction_factor = 2
    alignment_layer = 1

    def __init__(self, path, symbols):
        alignment = np.zeros((1, len(path), symbols), np.float32)
        alignment[0, np.arange(len(path)), path] = 1.0
        self.alignment = alignment
        self.seen = None

    def __call__(self, inputs, training=None):
        self.seen = inputs
        return {"alignments": [None, tf.constant(self.alignment)]}


def test_teacher_forced_alignment_is_cut_to_the_mel():
    # 7 frames at r = 2 are 4 steps: path 0, 0, 1, 2. The padded steps 4 and 5 would add two
    # steps to symbol 2 if they were not cut.
    model = TeacherForcedModel([0, 0, 1, 2, 2, 2], symbols=4)
    steps = symbol_steps(teacher_forced_alignment(model, [5, 6, 7, 1], np.ones((7, 3))))
    assert steps.tolist() == [2, 1, 1, 0]
    assert model.seen["mel"].shape == (1, 7, 3) and model.seen["mel_length"].tolist() == [7]
    assert model.seen["text"].tolist() == [[5, 6, 7, 1]]


def test_anatomy_summary_pools_stalls_and_base_rates():
    def stall(next_class, taught, change, silent, advance, weight=0.5):
        return {
            "next_class": next_class,
            "teacher_forced_steps": taught,
            "relative_frame_change": change,
            "silent_share": silent,
            "position_advance": advance,
            "held_weight": weight,
        }

    rows = [
        {
            "phone_classes": ["consonant", "stress mark", "vowel", "consonant", None],
            "teacher_forced_steps": [0, 0, 3, 1, 9],  # the last symbol's steps are left out
            "free_running_steps": [12, 0, 20, 1, 0],
            "teacher_forced_stall": False,
            "anatomy": [stall("stress mark", 0, 0.2, 0.0, 0.5), stall("vowel", 3, 0.4, 1.0, 1.5)],
        },
        {
            "phone_classes": ["vowel", "stress mark", None],
            "teacher_forced_steps": [2, 0, 0],
            "free_running_steps": [10, 0, 0],
            "teacher_forced_stall": False,
            "anatomy": [stall("stress mark", 2, None, 0.5, 2.0, 0.2)],
        },
        {"stalls": []},  # no anatomy: left out
    ]
    result = anatomy_summary(rows)
    assert result["stalls"] == 3
    assert result["next_class_share"]["stress mark"] == pytest.approx(2 / 3)
    # The next symbols: stress mark, vowel, consonant (row 1) and stress mark (row 2).
    assert result["next_class_base"]["stress mark"] == pytest.approx(2 / 4)
    assert result["next_class_base"]["consonant"] == pytest.approx(1 / 4)
    assert result["teacher_forced_steps_stalled"] == pytest.approx(5 / 3)
    assert result["teacher_forced_steps_all"] == pytest.approx((0 + 0 + 3 + 1 + 2 + 0) / 6)
    assert result["relative_frame_change_median"] == pytest.approx(0.3)
    assert result["silent_share_median"] == 0.5
    assert result["position_advance_median"] == 1.5
    assert result["position_advance_at_least_one"] == pytest.approx(2 / 3)
    assert result["held_weight_median"] == 0.5
    held = result["steps_by_held_class"]
    assert held["vowel"] == {"symbols": 2, "teacher_forced": 2.5, "free_running": 15.0}
    assert held["consonant"] == {"symbols": 2, "teacher_forced": 0.5, "free_running": 6.5}
    assert held["stress mark"] == {"symbols": 2, "teacher_forced": 0.0, "free_running": 0.0}
    before = result["steps_by_next_class"]
    assert before["stress mark"] == {"symbols": 2, "teacher_forced": 1.0, "free_running": 11.0}
    assert before["vowel"] == {"symbols": 1, "teacher_forced": 0.0, "free_running": 0.0}
    assert result["teacher_forced_stalled"] == 0.0
    rows[0]["teacher_forced_stall"] = True
    assert anatomy_summary(rows)["teacher_forced_stalled"] == 0.5
    assert anatomy_summary([{"stalls": []}]) is None


def test_symbol_steps_of_a_path():
    alignment = np.zeros((4, 7))
    alignment[[0, 0, 1, 1, 1, 3, 3], np.arange(7)] = 1.0  # symbol 2 is jumped over
    assert symbol_steps(alignment).tolist() == [2, 3, 0, 2]


class ReferenceModel(PathModel):
    """A ``PathModel`` that, teacher-forced, follows a fixed path of the alignment layer."""

    reduction_factor = 2
    alignment_layer = 0
    silence_threshold = 0.05

    def __init__(self, paths, taught_path, symbols):
        super().__init__(paths)
        self.taught = TeacherForcedModel(taught_path, symbols).alignment

    def __call__(self, inputs, training=None):
        return {"alignments": [tf.constant(self.taught)]}


def test_a_row_keeps_the_detectors_verdict_on_the_teacher_forced_alignment():
    tokenizer = Tokenizer(symbols="characters")
    ids = tokenizer.encode("aa bb")  # 5 characters and the end symbol
    n = len(ids)
    # Teacher-forced, symbol 1 holds 20 steps: 19 without progress, over max(8, 4 * 25 / 6).
    taught_path = [0] + [1] * 20 + [2, 3, 4, 5]
    model = ReferenceModel({n: list(range(n))}, taught_path, symbols=n)
    row = stalls_of_sentence(
        model, tokenizer, "aa bb", False, space_id=2, reference_mel=np.zeros((50, 2))
    )
    assert row["teacher_forced_steps"] == [1, 20, 1, 1, 1, 1]
    assert row["teacher_forced_stall"] is True
    assert row["stalls"] == [] and row["anatomy"] == []
