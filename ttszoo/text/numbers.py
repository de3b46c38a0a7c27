"""Spelling out numbers in English for the text cleaners.

Handles grouped integers (``1,234``), decimals (``3.14``), ordinals (``21st``), currency
(``$3.50``, ``£2``), percentages (``50%``), clock times (``7:30``), years (``1999``, ``2010s``) and negative numbers.
"""

import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
               "€": ("euro", "euros", "cent", "cents")}  # fmt: skip

_GROUPED = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_CURRENCY = re.compile(r"([$£€])(\d+(?:\.\d+)?)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_DECADE = re.compile(r"\b(1[1-9]\d0|20\d0)s\b")
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_NEGATIVE = re.compile(r"(?<![\w-])-(\d)")
_INTEGER = re.compile(r"\b\d+\b")
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")


def _below_thousand(number):
    hundreds, rest = divmod(number, 100)
    words = [f"{_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f" {_ONES[ones]}" if ones else ""))
    elif rest or not hundreds:
        words.append(_ONES[rest])
    return " ".join(words)


def cardinal(number):
    """Spells a non-negative integer: ``1234 -> 'one thousand two hundred thirty four'``."""
    if number < 1000:
        return _below_thousand(number)
    for scale, name in _SCALES:
        if number >= scale:
            high, rest = divmod(number, scale)
            return f"{cardinal(high)} {name}" + (f" {cardinal(rest)}" if rest else "")
    raise AssertionError("unreachable: every number >= 1000 has a scale")


def ordinal(number):
    """Spells an ordinal: ``21 -> 'twenty first'``, ``12 -> 'twelfth'``, ``40 -> 'fortieth'``."""
    words = cardinal(number).split()
    last = words[-1]
    if last in _ORDINAL_WORDS:
        words[-1] = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year(number):
    """Spells a year the way it is read: ``1999 -> 'nineteen ninety nine'``, ``2005 -> 'two thousand five'``."""
    if not 1100 <= number < 2100 or 2000 <= number < 2010:
        return cardinal(number)
    high, low = divmod(number, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + _ONES[low] if low < 10 else cardinal(low)}"


def _digits(text):
    return " ".join(_ONES[int(digit)] for digit in text)


def _currency(match):
    one, many, sub_one, sub_many = _CURRENCIES[match.group(1)]
    whole, _, fraction = match.group(2).partition(".")
    units = int(whole)
    cents = int((fraction + "00")[:2]) if fraction else 0
    parts = []
    if units or not cents:
        parts.append(f"{cardinal(units)} {one if units == 1 else many}")
    if cents:
        parts.append(f"{cardinal(cents)} {sub_one if cents == 1 else sub_many}")
    return " and ".join(parts)


def _integer(match):
    text = match.group(0)
    number = int(text)
    if len(text) == 4 and 1100 <= number < 2100:
        return year(number)
    if len(text) > 1 and text.startswith("0"):
        return _digits(text)
    return cardinal(number)


def _clock(match):
    """``7:30 -> 'seven thirty'``, ``7:05 -> 'seven oh five'``, ``7:00 -> 'seven o'clock'``."""
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes == 0:
        return f"{cardinal(hours)} o'clock"
    return f"{cardinal(hours)} {'oh ' + _ONES[minutes] if minutes < 10 else cardinal(minutes)}"


def _decade(match):
    words = year(int(match.group(1))).split()
    words[-1] = words[-1][:-1] + "ies" if words[-1].endswith("y") else words[-1] + "s"
    return " ".join(words)


def expand_numbers(text):
    """Replaces every number in ``text`` by words."""
    text = _GROUPED.sub(lambda m: cardinal(int(m.group(0).replace(",", ""))), text)
    text = _CURRENCY.sub(_currency, text)
    text = _CLOCK.sub(_clock, text)
    text = _PERCENT.sub(lambda m: f"{m.group(1)} percent", text)
    text = _ORDINAL.sub(lambda m: ordinal(int(m.group(1))), text)
    text = _DECADE.sub(_decade, text)
    text = _NEGATIVE.sub(r"minus \1", text)
    text = _DECIMAL.sub(lambda m: f"{cardinal(int(m.group(1)))} point {_digits(m.group(2))}", text)
    return _INTEGER.sub(_integer, text)
