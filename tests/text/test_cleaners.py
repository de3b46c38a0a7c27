"""English cleaners and number expansion against hand-written answers."""

import pytest

from ttszoo.text import english_cleaners, expand_numbers
from ttszoo.text.numbers import cardinal, ordinal, year


@pytest.mark.parametrize(
    "number, words",
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (101, "one hundred one"),
        (999, "nine hundred ninety nine"),
        (1000, "one thousand"),
        (1_234_567, "one million two hundred thirty four thousand five hundred sixty seven"),
        (3_000_000_005, "three billion five"),
    ],
)
def test_cardinal(number, words):
    assert cardinal(number) == words


@pytest.mark.parametrize(
    "number, words",
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (12, "twelfth"),
        (21, "twenty first"),
        (40, "fortieth"),
        (100, "one hundredth"),
    ],
)
def test_ordinal(number, words):
    assert ordinal(number) == words


@pytest.mark.parametrize(
    "number, words",
    [
        (1999, "nineteen ninety nine"),
        (1900, "nineteen hundred"),
        (2005, "two thousand five"),
        (1905, "nineteen oh five"),
        (2024, "twenty twenty four"),
    ],
)
def test_year(number, words):
    assert year(number) == words


@pytest.mark.parametrize(
    "text, expected",
    [
        ("$3.50", "three dollars and fifty cents"),
        ("$1", "one dollar"),
        ("£0.01", "one penny"),
        ("50%", "fifty percent"),
        ("the 21st", "the twenty first"),
        ("1,234 people", "one thousand two hundred thirty four people"),
        ("3.14", "three point one four"),
        ("-4 degrees", "minus four degrees"),
        ("the 1990s", "the nineteen nineties"),
        ("in 1887", "in eighteen eighty seven"),
        ("call 007", "call zero zero seven"),
        ("at 7:30 tonight", "at seven thirty tonight"),
        ("by 6:05", "by six oh five"),
        ("at 12:00.", "at twelve o'clock."),
        ("from 23:45", "from twenty three forty five"),
    ],
)
def test_expand_numbers(text, expected):
    assert expand_numbers(text) == expected


def test_english_cleaners_full_sentence():
    text = "Dr. Smith paid  $3.50 for 2 apples — on the 21st of May, 1999!"
    assert english_cleaners(text) == (
        "doctor smith paid three dollars and fifty cents for two apples - on the twenty first of may, nineteen ninety nine!"
    )


def test_english_cleaners_ascii_and_quotes():
    assert english_cleaners("Café “déjà vu” & more") == 'cafe "deja vu" and more'
