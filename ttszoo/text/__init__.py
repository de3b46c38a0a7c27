"""Text front end: cleaners, symbol sets, the tokenizer and eSpeak NG phonemes."""

from ttszoo.text.cleaners import basic_cleaners, english_cleaners
from ttszoo.text.numbers import expand_numbers
from ttszoo.text.symbols import SYMBOL_SETS
from ttszoo.text.tokenizer import Tokenizer, UnknownSymbolWarning

__all__ = [
    "SYMBOL_SETS",
    "Tokenizer",
    "UnknownSymbolWarning",
    "basic_cleaners",
    "english_cleaners",
    "expand_numbers",
]
