"""The offline demo corpus: built-in English sentences spoken by eSpeak NG.

Two sizes: ``"small"`` is the 332 hand-written sentences of ``demo_sentences.txt``
(statements, questions, exclamations, numbers, dates, prices, short and long); ``"large"`` is
those followed by sentences from the seeded template grammar of ``demo_text`` (3000 in all,
up to about 235 characters). They are spoken with libespeak-ng from the
``espeakng-loader`` wheel and written as an LJSpeech-format corpus at 22050 Hz, 16 bit. No
apt package, no download. Building is deterministic: libespeak-ng carries state from one
utterance to the next, so the whole corpus is spoken in order in a fresh process, which
gives the same bytes on every run. The result is cached: a folder that already holds the
same corpus (same sentences and settings, recorded in ``corpus.json``) is reused.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from ttszoo.data.demo_text import generated_sentences
from ttszoo.errors import InvalidInputError, TTSZooError
from ttszoo.text.cleaners import english_cleaners

_HERE = Path(__file__).parent
CORPUS_VERSION = 2
CORPUS_SIZES = {"small": 332, "large": 3000}
"""Number of utterances of each corpus size."""
VOICE = "en-us"
WORDS_PER_MINUTE = 165
"""The eSpeak NG voice and speaking rate of the demo corpus (``ttszoo evaluate`` reuses them)."""


def _lines(name):
    return (_HERE / name).read_text(encoding="utf-8").splitlines()


def demo_sentences(size="small"):
    """The sentences of the demo corpus of ``size`` (``CORPUS_SIZES``), in corpus order.

    The large corpus starts with the small one, so a model trained on either has seen it.
    """
    if size not in CORPUS_SIZES:
        raise InvalidInputError(f"size must be one of {sorted(CORPUS_SIZES)}, got {size!r}.")
    written = _lines("demo_sentences.txt")
    if size == "small":
        return written
    kept_out = written + held_out_sentences() + held_out_long_sentences()
    return written + generated_sentences(CORPUS_SIZES[size] - len(written), exclude=kept_out)


def held_out_sentences():
    """Sentences that are not in the demo corpus, for synthesis and evaluation on unseen text."""
    return _lines("demo_heldout_sentences.txt")


def held_out_long_sentences():
    """Long sentences (over 100 characters) in neither corpus size, for robustness checks."""
    return _lines("demo_heldout_long_sentences.txt")


def default_corpus_dir(size="small"):
    """``$TTSZOO_CACHE/demo_corpus`` (``demo_corpus_large`` for the large size), with
    ``TTSZOO_CACHE`` defaulting to ``~/.cache/ttszoo``."""
    cache = os.environ.get("TTSZOO_CACHE") or Path.home() / ".cache" / "ttszoo"
    return Path(cache) / ("demo_corpus" if size == "small" else f"demo_corpus_{size}")


def _corpus_dir(out_dir, size, multi_speaker):
    """``out_dir`` as a ``Path``, or the cache folder of this corpus size when it is None."""
    if out_dir is None:  # a multi-speaker corpus does not replace the cached single-voice one
        out_dir = default_corpus_dir(size)
        if multi_speaker:
            out_dir = out_dir.with_name(out_dir.name.replace("demo_corpus", "demo_corpus_speakers"))
    return Path(out_dir)


def _corpus_settings(sentences, speakers, voice, words_per_minute):
    """The settings written to ``corpus.json``: a cached corpus is reused only if they match."""
    return {
        "version": CORPUS_VERSION,
        **({"voices": list(speakers)} if speakers else {"voice": voice}),
        "words_per_minute": words_per_minute,
        "sentences_sha256": hashlib.sha256("\n".join(sentences).encode()).hexdigest(),
        "num_utterances": len(sentences) * len(speakers or [voice]),
        "sample_rate": 22050,
    }


def build_demo_corpus(
    out_dir=None,
    limit=None,
    voice=VOICE,
    words_per_minute=WORDS_PER_MINUTE,
    progress=True,
    size="small",
    voices=None,
):
    """Speaks the demo sentences into an LJSpeech-format corpus folder.

    Args:
      out_dir: destination (default ``default_corpus_dir(size)``, or its sibling
        ``demo_corpus_speakers`` with ``voices``); created if needed.
      limit: speak only the first ``limit`` sentences (tests use a small slice).
      voice: eSpeak NG voice name.
      words_per_minute: speaking rate.
      progress: show a progress bar.
      size: ``"small"`` (332 hand-written sentences) or ``"large"`` (3000, see
        ``demo_sentences``).
      voices: several eSpeak NG voices (e.g. ``("en-us", "en-us+f3", "en-gb-scotland")``) for a
        multi-speaker corpus instead of ``voice``: every voice speaks every sentence, and the
        voice name is the speaker column of ``metadata.csv``.

    Returns:
      ``Path`` of the corpus: ``metadata.csv`` (``demo_0001|text|normalized text``),
      ``wavs/demo_0001.wav`` ... and ``corpus.json`` (the settings, for the cache check). With
      ``voices``, ids are ``demo_<voice>_0001`` (voice with ``+`` written ``-``) and rows
      ``id|text|normalized text|voice``.
    """
    speakers = _check_voices(voices)
    sentences = demo_sentences(size)[:limit]
    out_dir = _corpus_dir(out_dir, size, multi_speaker=bool(speakers))
    if not sentences:
        raise InvalidInputError(
            f"limit={limit} leaves no sentences to speak; use a positive limit or None."
        )
    settings = _corpus_settings(sentences, speakers, voice, words_per_minute)
    stamp = out_dir / "corpus.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == settings:
        return out_dir
    rows = _rows(sentences, speakers or [voice], speaker_column=bool(speakers))
    for speaker in speakers or [voice]:
        spoken = [row for row in rows if row["voice"] == speaker]
        speak_sentences(
            [row["sentence"] for row in spoken],
            out_dir / "wavs",
            [row["id"] for row in spoken],
            speaker,
            words_per_minute,
            progress,
        )
    lines = [row["metadata"] for row in rows]
    (out_dir / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    stamp.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    return out_dir


class VoicesError(TTSZooError, ValueError):
    """``voices`` of a multi-speaker demo corpus that are not two or more different names."""


def _check_voices(voices):
    """The voices of a multi-speaker corpus as a list (``[]`` for ``None``); clear errors."""
    if voices is None:
        return []
    if isinstance(voices, str) or len(voices) < 2 or len(set(voices)) != len(voices):
        raise VoicesError(
            f"voices must be two or more different eSpeak NG voice names, got {voices!r}; "
            "for one voice use `voice`."
        )
    return list(voices)


def _rows(sentences, voices, speaker_column):
    """One row per (voice, sentence): id, voice, sentence and its ``metadata.csv`` line."""
    rows = []
    for voice in voices:
        prefix = f"demo_{voice.replace('+', '-')}_" if speaker_column else "demo_"
        for index, text in enumerate(sentences, start=1):
            item = f"{prefix}{index:04d}"
            line = f"{item}|{text}|{english_cleaners(text)}" + (
                f"|{voice}" if speaker_column else ""
            )
            rows.append({"id": item, "voice": voice, "sentence": text, "metadata": line})
    return rows


def speak_sentences(
    sentences,
    out_dir,
    names,
    voice=VOICE,
    words_per_minute=WORDS_PER_MINUTE,
    progress=True,
    description="Speaking demo corpus",
):
    """Speaks each sentence into ``out_dir/<name>.wav`` (22050 Hz, 16 bit) with eSpeak NG.

    eSpeak NG speaks each sentence's cleaned transcript (``english_cleaners``), not the written
    text: it reads some written forms ("$12.50", "1887") otherwise than the transcript spells
    them. The sentences are spoken in order in a fresh process, so the same list gives the same
    bytes on every run (libespeak-ng carries state from one utterance to the next).

    Returns:
      The list of ``Path`` written, in sentence order.
    """
    if len(names) != len(sentences):
        raise ValueError(f"Got {len(sentences)} sentences but {len(names)} file names.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    job = {"sentences": [english_cleaners(sentence) for sentence in sentences], "ids": list(names), "out_dir": str(out_dir),
           "voice": voice, "words_per_minute": words_per_minute, "progress": progress,
           "description": description}  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", "from ttszoo.data.demo_corpus import _speak_all; _speak_all()"],
        input=json.dumps(job),
        text=True,
        check=True,
    )
    return [out_dir / f"{name}.wav" for name in names]


def _speak_all():
    """Runs in a fresh process (the job as JSON on stdin): speaks every sentence in order."""
    import soundfile
    from tqdm import tqdm

    from ttszoo.text import espeak

    job = json.loads(sys.stdin.read())
    pairs = list(zip(job["ids"], job["sentences"], strict=True))
    for item, sentence in tqdm(
        pairs, desc=job["description"], unit="utt", disable=not job["progress"]
    ):
        samples = espeak.synthesize(
            sentence, voice=job["voice"], words_per_minute=job["words_per_minute"]
        )
        path = Path(job["out_dir"]) / f"{item}.wav"
        soundfile.write(str(path), samples, espeak.SAMPLE_RATE, subtype="PCM_16")
