"""The large demo corpus' sentences: generated deterministically, varied, disjoint from held-out
text, spoken as written, and covering the held-out sentences' phonetics."""

import re

import pytest

from ttszoo.data import (
    CORPUS_SIZES,
    demo_sentences,
    held_out_long_sentences,
    held_out_sentences,
)
from ttszoo.data.demo_text import generated_sentences
from ttszoo.data.phonetic_coverage import coverage, phoneme_counts
from ttszoo.text.cleaners import english_cleaners

pytest.importorskip("espeakng_loader")


@pytest.fixture(scope="module")
def large():
    return demo_sentences("large")


def _words(text):
    return " ".join(re.sub(r"[^a-z ]+", "", english_cleaners(text)).split())


def test_generator_is_deterministic_and_honours_seed_and_exclusions():
    first = generated_sentences(200)
    assert first == generated_sentences(200) and len(set(first)) == 200
    assert generated_sentences(200, seed=7) != first
    kept_out = first[:20]
    again = generated_sentences(200, exclude=kept_out)
    assert not {_words(s) for s in again} & {_words(s) for s in kept_out}
    with pytest.raises(ValueError, match="count must be >= 0"):
        generated_sentences(-1)


def test_sizes_and_the_small_set_is_the_large_sets_start(large):
    small = demo_sentences("small")
    assert len(small) == CORPUS_SIZES["small"] == 332
    assert len(large) == CORPUS_SIZES["large"] >= 3000 and len(set(large)) == len(large)
    assert large[: len(small)] == small
    with pytest.raises(ValueError, match="size must be one of"):
        demo_sentences("medium")


def test_large_set_is_varied(large):
    lengths = [len(s) for s in large]
    longest_held_out = max(len(s) for s in held_out_sentences())
    assert max(lengths) > longest_held_out and max(lengths) >= 200
    assert sum(n > 100 for n in lengths) >= 300 and sum(n <= 20 for n in lengths) >= 100
    assert sum(s.endswith("?") for s in large) >= 500
    assert sum(s.endswith("!") for s in large) >= 100
    assert sum(any(c.isdigit() for c in s) for s in large) >= 500
    assert sum("%" in s for s in large) >= 20 and sum(" cents" in s for s in large) >= 20
    assert sum(bool(re.search(r"\d(st|nd|rd|th)\b", s)) for s in large) >= 100
    assert sum(s.count(",") >= 2 and " and " in s for s in large) >= 100  # lists
    assert sum("Dr. " in s or "Mr. " in s for s in large) >= 100


def test_no_held_out_sentence_is_in_either_corpus_even_nearly(large):
    held_out = held_out_sentences() + held_out_long_sentences()
    corpus = [f" {_words(s)} " for s in large]
    for sentence in held_out:
        words = _words(sentence)
        assert not any(f" {words} " in line for line in corpus), sentence
        assert not any(line in f" {words} " for line in corpus[332:]), sentence


def test_held_out_long_sentences(large):
    long = held_out_long_sentences()
    assert len(long) >= 44 and len(set(long)) == len(long)
    assert all(len(s) > 100 for s in long)
    assert not set(long) & set(held_out_sentences())
    # Varied: numbers, dates (ordinals), times, prices, questions, lists and several clauses,
    # and some longer than any utterance of the large corpus (extrapolation).
    assert sum(any(c.isdigit() for c in s) for s in long) >= 15
    assert sum(bool(re.search(r"\d(st|nd|rd|th)\b", s)) for s in long) >= 4
    assert sum(bool(re.search(r"\d:\d\d", s)) for s in long) >= 2
    assert sum("$" in s for s in long) >= 2 and sum("%" in s for s in long) >= 1
    assert sum(s.endswith("?") for s in long) >= 4
    assert sum(s.count(",") >= 3 for s in long) >= 10
    longest_corpus = max(len(english_cleaners(s)) for s in large)
    assert sum(len(english_cleaners(s)) > longest_corpus for s in long) >= 2


def _same_speech(a, b):
    """eSpeak NG's phonemes of two texts agree, up to stress, word joins, linking r and ᵻ/ɪ."""
    from ttszoo.text import espeak

    def plain(text):
        phonemes = re.sub(r"[ˈˌ ]", "", espeak.text_to_phonemes(text))
        return phonemes.replace("ᵻ", "ɪ").replace("ɚɹ", "ɚ")

    return plain(a) == plain(b)


def test_same_speech_tells_a_misread_price_apart():
    assert not _same_speech("It cost $3.50.", english_cleaners("It cost $3.50."))
    assert _same_speech("Dr. Brown", english_cleaners("Dr. Brown"))


def test_generated_sentences_are_spoken_as_their_transcript_says(large):
    misread = [s for s in large[332:] if not _same_speech(s, english_cleaners(s))]
    assert misread == []


def test_phoneme_counts_on_a_hand_checked_example():
    phonemes, diphones = phoneme_counts(["A cat.", "Cats, dogs."])
    assert phonemes == {"k": 2, "æ": 2, "t": 2, "ɐ": 1, "s": 1, "d": 1, "ɑː": 1, "ɡ": 1, "z": 1}
    # The comma's pause breaks the chain: no ("s", "d") diphone.
    assert set(diphones) == {("ɐ", "k"), ("k", "æ"), ("æ", "t"), ("t", "s"), ("d", "ɑː"),
                             ("ɑː", "ɡ"), ("ɡ", "z")}  # fmt: skip


def test_large_corpus_holds_every_held_out_phoneme_and_most_diphones(large):
    result = coverage(large, held_out_sentences() + held_out_long_sentences())
    assert result.phonemes >= 50 and result.missing_phonemes == ()
    assert result.diphone_fraction >= 0.97
