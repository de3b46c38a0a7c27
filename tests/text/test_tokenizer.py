"""Tokenizer: id layout, round trips, unknown-character policy, empty text, phonemes."""

import warnings

import pytest

from ttszoo.text import SYMBOL_SETS, Tokenizer, UnknownSymbolWarning


@pytest.mark.parametrize("symbols", sorted(SYMBOL_SETS))
def test_padding_and_eos_ids_are_reserved(symbols):
    table = SYMBOL_SETS[symbols]
    assert table[0] == "_" and table[1] == "~"
    assert len(set(table)) == len(table)


def test_encode_decode_round_trip():
    tokenizer = Tokenizer()
    text = "hello, world? it's (nearly) done: yes - no; fine!"
    ids = tokenizer.encode(text)
    assert ids[-1] == tokenizer.eos_id
    assert 0 not in ids
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(ids + [0, 0, 5]) == text  # stops at EOS
    assert tokenizer.decode([0] + ids) == text  # skips padding


def test_encode_cleans_text():
    tokenizer = Tokenizer()
    assert (
        tokenizer.decode(tokenizer.encode("Mr. Brown has 2 CATS.")) == "mister brown has two cats."
    )


def test_unknown_characters_warn_and_drop():
    tokenizer = Tokenizer(cleaners="basic")
    with pytest.warns(UnknownSymbolWarning, match=r"\['\*', '/'\]"):
        ids = tokenizer.encode("a*b/c")
    assert tokenizer.decode(ids) == "abc"


def test_unknown_characters_error_policy():
    tokenizer = Tokenizer(cleaners="basic", unknown="error")
    with pytest.raises(ValueError, match=r"not in the 'characters' symbol set.*unknown='warn'"):
        tokenizer.encode("a*b")


@pytest.mark.parametrize("text", ["", "   ", "...", "***"])
def test_text_empty_after_cleaning_raises(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownSymbolWarning)
        with pytest.raises(ValueError, match="empty after cleaning"):
            Tokenizer().encode(text)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="symbol set"):
        Tokenizer(symbols="klingon")
    with pytest.raises(ValueError, match="policy"):
        Tokenizer(unknown="ignore")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        Tokenizer().decode([999])


def test_config_round_trip():
    tokenizer = Tokenizer(symbols="phonemes", unknown="error")
    clone = Tokenizer.from_config(tokenizer.get_config())
    assert clone.get_config() == tokenizer.get_config()
    assert clone.vocab_size == tokenizer.vocab_size


def test_phonemes_through_espeak():
    pytest.importorskip("espeakng_loader")
    tokenizer = Tokenizer(symbols="phonemes", unknown="error")
    # Known eSpeak NG en-us output for these words; punctuation is kept in place.
    assert tokenizer.normalize("Hello, world? Thank you.") == "həlˈoʊ, wˈɜːld? θˈæŋk juː."
    ids = tokenizer.encode("The quick brown fox.")
    assert tokenizer.decode(ids) == tokenizer.normalize("The quick brown fox.")
