"""Text normalisation before tokenisation (in the spirit of Keith Ito's Tacotron cleaners)."""

import re
import unicodedata

from ttszoo.text.numbers import expand_numbers

_ABBREVIATIONS = [
    (re.compile(rf"\b{abbreviation}\.", re.IGNORECASE), expansion)
    for abbreviation, expansion in [
        ("mrs", "misess"), ("mr", "mister"), ("dr", "doctor"), ("st", "saint"), ("co", "company"),
        ("jr", "junior"), ("sr", "senior"), ("maj", "major"), ("gen", "general"), ("drs", "doctors"),
        ("rev", "reverend"), ("lt", "lieutenant"), ("hon", "honorable"), ("sgt", "sergeant"),
        ("capt", "captain"), ("esq", "esquire"), ("ltd", "limited"), ("col", "colonel"),
        ("ft", "fort"), ("prof", "professor"), ("vs", "versus"), ("etc", "et cetera"),
        ("no", "number"), ("approx", "approximately"), ("dept", "department"),
    ]
]  # fmt: skip
_SYMBOLS = [("&", " and "), ("+", " plus "), ("=", " equals "), ("@", " at "), ("#", " number ")]
_PUNCTUATION_MAP = {"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": " - ", "…": "...",
                    "[": "(", "]": ")", "{": "(", "}": ")"}  # fmt: skip
_WHITESPACE = re.compile(r"\s+")


def to_ascii(text):
    """Maps accented letters to plain ones (``café -> cafe``) and typographic punctuation to ASCII."""
    text = "".join(_PUNCTUATION_MAP.get(char, char) for char in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def abbreviation_regex():
    """An RE2-compatible pattern matching any text that holds an abbreviation the English
    cleaners expand (case-insensitive), for checks outside Python (the exported SavedModel)."""
    return "(?i).*(" + "|".join(pattern.pattern for pattern, _ in _ABBREVIATIONS) + ").*"


def expand_abbreviations(text):
    """``Dr. Smith -> doctor Smith`` for common English titles and abbreviations."""
    for pattern, expansion in _ABBREVIATIONS:
        text = pattern.sub(expansion, text)
    return text


def english_cleaners(text):
    """ASCII, abbreviations, numbers and symbols spelled out, lower case, single spaces.

    Punctuation that carries prosody (``, . ? ! ; : - ' ( ) "``) is kept for the tokenizer.
    """
    text = to_ascii(text)
    text = expand_abbreviations(text)
    text = expand_numbers(text)
    for symbol, words in _SYMBOLS:
        text = text.replace(symbol, words)
    text = text.lower()
    return _WHITESPACE.sub(" ", text).strip()


def basic_cleaners(text):
    """Lower case and single spaces only, for languages the English rules would damage."""
    return _WHITESPACE.sub(" ", text.lower()).strip()


CLEANERS = {"english": english_cleaners, "basic": basic_cleaners}
