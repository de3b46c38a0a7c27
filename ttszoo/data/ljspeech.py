"""Reading an LJSpeech-format corpus: ``metadata.csv`` (``id|text|normalized text``) and ``wavs/``.

A multi-speaker corpus adds a fourth column, the speaker's name, on every row:
``id|text|normalized text|speaker`` (the normalized text may be empty). The first row decides
which of the two layouts a file has.
"""

import dataclasses
import io
from pathlib import Path

from absl import logging

from ttszoo.errors import MissingFileError
from ttszoo.text.files import read_utf8


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One row of a corpus: ``wav_path`` is ``<corpus>/wavs/<id>.wav``; ``speaker`` the name in
    the optional fourth column (``None`` without one)."""

    id: str
    text: str
    wav_path: Path
    speaker: str | None = None


@dataclasses.dataclass(frozen=True)
class CorpusProblem:
    """Something wrong with one row or file; it is reported and that item is skipped."""

    item: str
    problem: str

    def __str__(self):
        return f"{self.item}: {self.problem}"


def read_ljspeech(corpus_dir):
    """Reads ``metadata.csv`` of an LJSpeech-format corpus.

    Each row is ``id|text`` or ``id|text|normalized text``, or in a multi-speaker corpus (four
    fields on the first row) ``id|text|normalized text|speaker``; the normalized text is used
    when it is not empty. Malformed rows (wrong number of fields, empty id, text or speaker,
    duplicate ids) and
    rows whose ``wavs/<id>.wav`` is missing are reported as ``CorpusProblem``s and skipped; a
    warning names how many were skipped and which.

    Returns:
      ``(utterances, problems)``: usable ``Utterance``s sorted by id, and the problems found.

    Raises:
      FileNotFoundError: the folder or its ``metadata.csv`` does not exist.
    """
    corpus_dir = Path(corpus_dir)
    metadata = corpus_dir / "metadata.csv"
    if not metadata.is_file():
        raise MissingFileError(
            f"{metadata} not found: an LJSpeech-format corpus needs metadata.csv with rows "
            "'id|text|normalized text' and the audio in wavs/<id>.wav. "
            "Build the demo corpus with `ttszoo corpus --out DIR`."
        )
    utterances, problems, seen, field_counts = [], [], set(), None
    with io.StringIO(read_utf8(metadata)) as rows:  # names file and line of non-UTF-8 bytes
        for number, row in enumerate(rows, start=1):
            row = row.rstrip("\n").rstrip("\r")
            if not row.strip():
                continue
            where = f"{metadata.name} line {number}"
            fields = row.split("|")
            field_counts = field_counts or ((4,) if len(fields) == 4 else (2, 3))
            if len(fields) not in field_counts:
                expected = " or ".join(map(str, field_counts))
                problems.append(
                    CorpusProblem(
                        where, f"expected {expected} '|'-separated fields, found {len(fields)}"
                    )
                )
                continue
            item_id = fields[0].strip()
            text = (fields[2] if len(fields) >= 3 and fields[2].strip() else fields[1]).strip()
            speaker = fields[3].strip() if len(fields) == 4 else None
            if not item_id or not text or speaker == "":
                empty = "speaker" if item_id and text else "id or text"
                problems.append(CorpusProblem(where, f"empty {empty}"))
                continue
            if item_id in seen:
                problems.append(CorpusProblem(where, f"duplicate id {item_id!r}"))
                continue
            seen.add(item_id)
            wav_path = corpus_dir / "wavs" / f"{item_id}.wav"
            if not wav_path.is_file():
                problems.append(CorpusProblem(item_id, f"audio file {wav_path} not found"))
                continue
            utterances.append(Utterance(item_id, text, wav_path, speaker))
    report_problems(problems, total=len(utterances) + len(problems), source=str(corpus_dir))
    return sorted(utterances, key=lambda utterance: utterance.id), problems


def report_problems(problems, total, source):
    """Logs one warning naming how many of ``total`` items of ``source`` were skipped, and why."""
    if problems:
        listing = "\n  ".join(str(problem) for problem in problems)
        logging.warning(
            "Skipped %d of %d items of %s:\n  %s", len(problems), total, source, listing
        )
