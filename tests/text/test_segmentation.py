"""Paragraph splitting against hand-written expected splits."""

import pytest

from ttszoo.text.segmentation import (
    CLAUSE,
    SENTENCE,
    WORD,
    Segment,
    segment_text,
    split_long_sentence,
    split_sentences,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Dr. Smith paid $3.50 for tea, e.g. Earl Grey. Then he left!",
            ["Dr. Smith paid $3.50 for tea, e.g. Earl Grey.", "Then he left!"],
        ),
        (
            'He said "Stop!" Then he ran. "Why?" she asked.',
            ['He said "Stop!"', "Then he ran.", '"Why?" she asked.'],
        ),
        (
            "Wait... what? I was... tired… Really?! Yes.",
            ["Wait... what?", "I was... tired…", "Really?!", "Yes."],
        ),
        ("no punctuation at all here", ["no punctuation at all here"]),
        ("Room No. 5 is J. R. Smith's. The end", ["Room No. 5 is J. R. Smith's.", "The end"]),
        ("The answer is no. Nobody came.", ["The answer is no.", "Nobody came."]),
        ("We need pens, paper, etc. The shop is shut.", ["We need pens, paper, etc.", "The shop is shut."]),
        ("It cost 3.50. 7 people paid (in cash.) Then", ["It cost 3.50.", "7 people paid (in cash.)", "Then"]),
        ("A title without a stop\n\n  Next   paragraph.\nSame one.", ["A title without a stop", "Next paragraph.", "Same one."]),
        ("Mr. and Mrs. Brown met Prof. Green vs. St. John.", ["Mr. and Mrs. Brown met Prof. Green vs. St. John."]),
        ("  \n\t ", []),
    ],
)  # fmt: skip
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


SENTENCE_TEXT = (
    "The tired travellers reached the inn after walking all day through the windy hills, "
    "and they were glad of the fire; nobody spoke - they simply slept."
)


def test_long_sentence_splits_at_clauses_packed_greedily():
    assert split_long_sentence(SENTENCE_TEXT, 100) == [
        Segment(
            "The tired travellers reached the inn after walking all day through the windy hills,",
            CLAUSE,
        ),
        Segment("and they were glad of the fire; nobody spoke - they simply slept.", SENTENCE),
    ]
    assert split_long_sentence(SENTENCE_TEXT, 50) == [
        Segment("The tired travellers reached the inn after walking", WORD),
        Segment("all day through the windy hills,", CLAUSE),
        Segment("and they were glad of the fire; nobody spoke -", CLAUSE),
        Segment("they simply slept.", SENTENCE),
    ]


def test_short_sentence_word_limit_and_custom_length():
    assert split_long_sentence("Hello there.", 12) == [Segment("Hello there.", SENTENCE)]
    # A length counting words: at most two words a segment.
    assert split_long_sentence("One two three, four five six.", 2, lambda t: len(t.split())) == [
        Segment("One two", WORD),
        Segment("three,", CLAUSE),
        Segment("four five", WORD),
        Segment("six.", SENTENCE),
    ]
    # A word longer than the limit stays whole.
    assert split_long_sentence("Supercalifragilistic word.", 5) == [
        Segment("Supercalifragilistic", WORD),
        Segment("word.", SENTENCE),
    ]
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        split_long_sentence("Hi.", 0)


def test_dashes_and_em_dashes_are_clause_boundaries():
    assert split_long_sentence("Wait here — I will be back — soon enough.", 20) == [
        Segment("Wait here —", CLAUSE),
        Segment("I will be back —", CLAUSE),
        Segment("soon enough.", SENTENCE),
    ]


def test_segment_text_drops_pieces_without_words_and_splits_long_sentences():
    text = "Hello. ... " + SENTENCE_TEXT
    assert segment_text(text) == [Segment("Hello.", SENTENCE), Segment(SENTENCE_TEXT, SENTENCE)]
    assert [s.boundary for s in segment_text(text, 100)] == [SENTENCE, CLAUSE, SENTENCE]
