"""Text -> ids and back, with characters or eSpeak NG phonemes."""

import re
import warnings

import gin
from ttszoo.errors import InvalidInputError
from ttszoo.text import symbols as symbol_sets
from ttszoo.text.cleaners import CLEANERS
from ttszoo.text.files import excerpt

UNKNOWN_POLICIES = ("warn", "error")
_PUNCTUATION_RUN = re.compile(r"([^\w\s']+)")
_SPACE_BEFORE_PAUSE = re.compile(r"\s+([!),.:;?])")
_SPACE_AFTER_PARENTHESIS = re.compile(r"\(\s+")


class UnknownSymbolWarning(UserWarning):
    """Characters outside the symbol set were dropped from a text."""


@gin.register(module="ttszoo.text")
class Tokenizer:
    """Cleans text, optionally converts it to IPA phonemes, and maps it to integer ids.

    Args:
      symbols: ``"characters"`` (letters and punctuation) or ``"phonemes"`` (IPA from
        eSpeak NG; needs the ``demo`` extra, ``pip install 'ttszoo[demo]'``).
      cleaners: ``"english"`` (numbers, abbreviations, ASCII, lower case) or ``"basic"``.
      unknown: what to do with characters outside the symbol set after cleaning:
        ``"warn"`` drops them with an ``UnknownSymbolWarning`` naming them, ``"error"`` raises
        a ValueError.
      language: the eSpeak NG voice used for phonemes.

    Ids: 0 is padding (``pad_id``), 1 is end-of-sequence (``eos_id``); ``encode`` appends EOS.
    """

    def __init__(self, symbols="characters", cleaners="english", unknown="warn", language="en-us"):
        if symbols not in symbol_sets.SYMBOL_SETS:
            raise InvalidInputError(
                f"Unknown symbol set {symbols!r}; choose one of {sorted(symbol_sets.SYMBOL_SETS)}."
            )
        if cleaners not in CLEANERS:
            raise InvalidInputError(
                f"Unknown cleaners {cleaners!r}; choose one of {sorted(CLEANERS)}."
            )
        if unknown not in UNKNOWN_POLICIES:
            raise InvalidInputError(
                f"Unknown-character policy must be one of {UNKNOWN_POLICIES}, got {unknown!r}."
            )
        self.symbols = symbols
        self.cleaners = cleaners
        self.unknown = unknown
        self.language = language
        self._alphabet = symbol_sets.SYMBOL_SETS[symbols]
        self._ids = {symbol: index for index, symbol in enumerate(self._alphabet)}

    pad_id = 0
    eos_id = 1

    @property
    def vocab_size(self):
        """Number of ids, padding and end-of-sequence included."""
        return len(self._alphabet)

    def normalize(self, text):
        """Cleaned text (characters) or phoneme string (phonemes), before the symbol check."""
        if not isinstance(text, str):
            raise TypeError(f"Text must be a str, got {type(text).__name__}.")
        cleaned = CLEANERS[self.cleaners](text)
        if self.symbols == "phonemes":
            cleaned = self._phonemize(cleaned)
        return cleaned

    def _phonemize(self, text):
        from ttszoo.text import espeak

        pieces = []
        for piece in _PUNCTUATION_RUN.split(text):
            if _PUNCTUATION_RUN.fullmatch(piece):
                pieces.append(piece)
            elif piece.strip():
                pieces.append(f" {espeak.text_to_phonemes(piece, self.language)} ")
        joined = re.sub(r"\s+", " ", "".join(pieces))
        return _SPACE_AFTER_PARENTHESIS.sub("(", _SPACE_BEFORE_PAUSE.sub(r"\1", joined)).strip()

    def encode(self, text):
        """Returns the ids of ``text`` followed by ``eos_id``.

        Raises:
          ValueError: the text is empty after cleaning, or holds unknown characters and
            ``unknown="error"``.
        """
        normalized = self.normalize(text)
        unknown = sorted(
            {char for char in normalized if char not in self._ids or self._ids[char] < 2}
        )
        if unknown:
            message = f"Characters {unknown} of {excerpt(text)} are not in the {self.symbols!r} symbol set"
            if self.unknown == "error":
                raise InvalidInputError(
                    message + "; remove them, or use Tokenizer(unknown='warn') to drop them."
                )
            warnings.warn(message + "; they were dropped.", UnknownSymbolWarning, stacklevel=2)
        ids = [self._ids[char] for char in normalized if char not in unknown]
        if all(self._alphabet[i] in symbol_sets.PUNCTUATION for i in ids):
            raise InvalidInputError(
                f"Text {excerpt(text)} is empty after cleaning ({self.cleaners} cleaners, {self.symbols}); "
                "give at least one speakable word."
            )
        return ids + [self.eos_id]

    def decode(self, ids):
        """Maps ids back to text, skipping padding and stopping at the first end-of-sequence."""
        characters = []
        for index in ids:
            index = int(index)
            if index == self.eos_id:
                break
            if not 0 <= index < self.vocab_size:
                raise InvalidInputError(
                    f"Id {index} is outside the vocabulary of {self.vocab_size} symbols."
                )
            if index != self.pad_id:
                characters.append(self._alphabet[index])
        return "".join(characters)

    def get_config(self):
        """The constructor arguments, JSON-ready."""
        return {
            "symbols": self.symbols,
            "cleaners": self.cleaners,
            "unknown": self.unknown,
            "language": self.language,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
