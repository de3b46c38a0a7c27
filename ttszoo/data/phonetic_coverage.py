"""Phonetic coverage of a sentence set: which eSpeak NG phonemes and diphones it contains.

A diphone here is an ordered pair of neighbouring phonemes within a clause, including pairs
across a word boundary (the last phoneme of a word and the first of the next), since a
speaker joins them; the pause at a clause boundary breaks the chain. Used to check that the
demo corpus holds every sound of the held-out sentences (docs/data.md).
"""

import collections
import dataclasses

from ttszoo.text import espeak


def phoneme_counts(sentences, voice="en-us"):
    """``(phonemes, diphones)``: two ``collections.Counter`` over ``sentences``.

    Phonemes are eSpeak NG's IPA units without stress (``"tʃ"``, ``"aɪ"``); diphones are
    ``(first, second)`` tuples of neighbours within a clause, across word boundaries too.
    """
    phonemes, diphones = collections.Counter(), collections.Counter()
    for sentence in sentences:
        for clause in espeak.text_to_phoneme_words(sentence, voice=voice):
            chain = [phoneme for word in clause for phoneme in word]
            phonemes.update(chain)
            diphones.update(zip(chain[:-1], chain[1:], strict=True))
    return phonemes, diphones


@dataclasses.dataclass(frozen=True)
class Coverage:
    """How much of a reference sentence set's phonetics a corpus holds.

    Attributes:
      phonemes, diphones: distinct units in the reference.
      missing_phonemes, missing_diphones: those the corpus lacks (sorted).
      corpus_phonemes, corpus_diphones: distinct units in the corpus.
    """

    phonemes: int
    diphones: int
    missing_phonemes: tuple
    missing_diphones: tuple
    corpus_phonemes: int
    corpus_diphones: int

    @property
    def diphone_fraction(self):
        """The share of the reference's distinct diphones that the corpus holds."""
        return 1.0 - len(self.missing_diphones) / max(self.diphones, 1)


def coverage(corpus_sentences, reference_sentences, voice="en-us"):
    """The ``Coverage`` of ``reference_sentences`` by ``corpus_sentences``."""
    corpus_phonemes, corpus_diphones = phoneme_counts(corpus_sentences, voice)
    phonemes, diphones = phoneme_counts(reference_sentences, voice)
    return Coverage(
        phonemes=len(phonemes),
        diphones=len(diphones),
        missing_phonemes=tuple(sorted(set(phonemes) - set(corpus_phonemes))),
        missing_diphones=tuple(sorted(set(diphones) - set(corpus_diphones))),
        corpus_phonemes=len(corpus_phonemes),
        corpus_diphones=len(corpus_diphones),
    )
