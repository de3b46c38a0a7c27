"""Reference recordings for ``ttszoo evaluate``: a folder of wavs, or eSpeak NG renderings.

A references folder holds one file per sentence, named by its line number in the sentence
file counted from 1 and padded to four digits: ``0001.wav`` for the first non-empty line,
``0002.wav`` for the second, and so on (the names ``ttszoo synthesize --text_file`` writes).
Without a folder, eSpeak NG speaks each sentence with the demo corpus' voice settings, so a
model trained on the demo corpus is compared with the voice it learned.
"""

from pathlib import Path

from ttszoo.data.demo_corpus import WORDS_PER_MINUTE, speak_sentences
from ttszoo.errors import MissingFileError
from ttszoo.text import espeak


def sentence_file_names(count):
    """``["0001", "0002", ...]``: the file stem of each sentence, in line order."""
    return [f"{index:04d}" for index in range(1, count + 1)]


def reference_paths(references_dir, count):
    """The wav of each of ``count`` sentences in ``references_dir``, in line order.

    Raises:
      FileNotFoundError: for a missing folder or missing files (all of them are named).
    """
    folder = Path(references_dir)
    if not folder.is_dir():
        raise MissingFileError(
            f"The references folder {folder} does not exist; give a folder with 0001.wav, "
            "0002.wav ... (one per sentence, in line order), or use --espeak_voice."
        )
    paths = [folder / f"{name}.wav" for name in sentence_file_names(count)]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise MissingFileError(
            f"{folder} lacks {len(missing)} of the {count} reference wavs ({shown}); it needs one "
            "file per sentence, named by line number: 0001.wav, 0002.wav ..."
        )
    return paths


def render_references(sentences, out_dir, voice, progress=True):
    """Speaks each sentence with eSpeak NG into ``out_dir/0001.wav`` ...; returns the paths.

    Uses the demo corpus' speaking rate and process (``ttszoo.data.demo_corpus``). Needs the
    ``demo`` extra (``espeakng-loader``).

    Raises:
      ESpeakUnavailableError: the ``espeakng-loader`` wheel is not installed.
      ValueError: eSpeak NG has no voice ``voice``.
    """
    espeak.text_to_phonemes("a", voice=voice)  # fails here, with a clear message, not in a child
    return speak_sentences(
        sentences,
        out_dir,
        sentence_file_names(len(sentences)),
        voice=voice,
        words_per_minute=WORDS_PER_MINUTE,
        progress=progress,
        description="Speaking references",
    )
