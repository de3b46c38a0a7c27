"""Splitting a paragraph into pieces a text-to-speech model can read in one go.

``segment_text(text, max_length, length)`` first finds the sentences (``split_sentences``),
then splits each sentence longer than ``max_length`` at clause boundaries (after a comma,
semicolon or colon, or at a dash), and a clause that is still too long between words. Each
``Segment`` says what ends it, so a synthesizer can choose the pause that follows.

Sentence ends are ``.``, ``?``, ``!``, ``...`` and ``…`` (with any closing quotes or brackets)
followed by white space and a word that does not start with a lower-case letter, or a blank
line. A full stop does not end a sentence after a title or a Latin abbreviation (``Dr.``,
``Mr.``, ``e.g.``, ``i.e.``, ``vs.`` ... see ``NON_FINAL_ABBREVIATIONS``), after a single
capital (an initial, ``J. Smith``) or in ``No. 5``; a decimal point (``3.50``) is never
followed by white space, so it never ends one.
"""

import dataclasses
import re

from ttszoo.errors import InvalidInputError

SENTENCE = "sentence"
CLAUSE = "clause"
WORD = "word"

NON_FINAL_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st prof capt gen sgt lt col maj rev hon mt ft e.g i.e vs cf approx dept fig".split()
)
"""Abbreviations (lower case, without the last full stop) that never end a sentence."""
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos"})  # only before a number: "No. 5"

_SENTENCE_END = re.compile(r"(?:[.?!…]+)[\"'”’»)\]]*(?=\s)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_CLAUSE_MARKS = (",", ";", ":")
_DASHES = ("-", "--", "–", "—")


@dataclasses.dataclass(frozen=True)
class Segment:
    """A piece of text to synthesize in one go.

    Attributes:
      text: the words, as written (white space made single).
      boundary: what ends it: ``"sentence"`` (the end of a sentence or of the text),
        ``"clause"`` (split after ``,`` ``;`` ``:`` or a dash) or ``"word"`` (split between
        words, a clause being too long on its own).
    """

    text: str
    boundary: str


def _ends_sentence(block, end, mark):
    """Whether the terminator ``mark`` ending at ``end`` in ``block`` closes a sentence."""
    rest = block[end:].lstrip()
    if not rest:
        return True
    if rest[0].islower():
        return False
    if mark.rstrip("\"'”’»)]") != ".":
        return True
    before = block[: end - len(mark)].split()
    word = before[-1].lstrip("\"'“‘«([").lower() if before else ""
    if word in NON_FINAL_ABBREVIATIONS:
        return False
    if word in _NUMBER_ABBREVIATIONS and rest[0].isdigit():
        return False
    return not (len(word) == 1 and word.isalpha() and before[-1][-1].isupper())


def split_sentences(text):
    """The sentences of ``text``, in order, white space made single (see the module docstring).

    Text without sentence punctuation is one sentence; text with nothing but white space
    gives an empty list.
    """
    sentences = []
    for block in _PARAGRAPH_BREAK.split(text):
        start = 0
        for match in _SENTENCE_END.finditer(block):
            if _ends_sentence(block, match.end(), match.group(0)):
                sentences.append(block[start : match.end()])
                start = match.end()
        sentences.append(block[start:])
    return [" ".join(sentence.split()) for sentence in sentences if sentence.strip()]


def _has_words(text):
    return any(char.isalnum() for char in text)


def _ends_clause(word):
    return word.endswith(_CLAUSE_MARKS) or word in _DASHES or word.endswith(("—", "–"))


def _clauses(sentence):
    """The sentence's words grouped into clauses (lists of words)."""
    clauses, current = [], []
    for word in sentence.split():
        current.append(word)
        if _ends_clause(word):
            clauses.append(current)
            current = []
    return clauses + [current] if current else clauses


def split_long_sentence(sentence, max_length, length=len):
    """Splits one sentence into segments of at most ``max_length`` (as measured by ``length``).

    Clauses are packed greedily, in order, as many to a segment as fit; a clause longer than
    ``max_length`` on its own is packed word by word. A single word longer than the limit
    stays whole (no split can shorten it).

    Args:
      sentence: one sentence.
      max_length: the longest segment allowed, in ``length`` units.
      length: measures a text (default: characters; a synthesizer passes its symbol count).

    Returns:
      list of ``Segment``; the last one's boundary is ``"sentence"``.
    """
    if max_length < 1:
        raise InvalidInputError(f"max_length must be >= 1, got {max_length}.")
    segments, current = [], []

    def flush():
        if current:
            boundary = CLAUSE if _ends_clause(current[-1]) else WORD
            segments.append(Segment(" ".join(current), boundary))
            current.clear()

    for clause in _clauses(sentence):
        if length(" ".join(current + clause)) <= max_length:
            current.extend(clause)
            continue
        flush()
        if length(" ".join(clause)) <= max_length:
            current.extend(clause)
            continue
        for word in clause:
            if current and length(" ".join([*current, word])) > max_length:
                flush()
            current.append(word)
    flush()
    if segments:
        segments[-1] = Segment(segments[-1].text, SENTENCE)
    return segments


def segment_text(text, max_length=None, length=len):
    """Splits a paragraph into sentences, and sentences longer than ``max_length`` further.

    Args:
      text: any text.
      max_length: the longest segment, in ``length`` units; ``None`` keeps sentences whole.
      length: measures a text (default: characters).

    Returns:
      list of ``Segment`` in reading order; pieces with no letter or digit (a lone ``...``)
      are left out.
    """
    segments = []
    for sentence in split_sentences(text):
        if not _has_words(sentence):
            continue
        if max_length is None:
            pieces = [Segment(sentence, SENTENCE)]
        else:
            pieces = split_long_sentence(sentence, max_length, length)
        segments.extend(piece for piece in pieces if _has_words(piece.text))
    return segments
