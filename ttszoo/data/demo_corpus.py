"""The offline demo corpus: built-in English sentences spoken by eSpeak NG.

The sentences (``demo_sentences.txt``, 332 of them: statements, questions, exclamations,
numbers, dates, prices, short and long) are spoken with libespeak-ng from the
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

from ttszoo.errors import InvalidInputError
from ttszoo.text.cleaners import english_cleaners

_HERE = Path(__file__).parent
CORPUS_VERSION = 1


def demo_sentences():
    """The sentences of the demo corpus (332), in corpus order."""
    return (_HERE / "demo_sentences.txt").read_text(encoding="utf-8").splitlines()


def held_out_sentences():
    """Sentences that are not in the demo corpus, for synthesis and evaluation on unseen text."""
    return (_HERE / "demo_heldout_sentences.txt").read_text(encoding="utf-8").splitlines()


def default_corpus_dir():
    """``$TTSZOO_CACHE/demo_corpus``, with ``TTSZOO_CACHE`` defaulting to ``~/.cache/ttszoo``."""
    cache = os.environ.get("TTSZOO_CACHE") or Path.home() / ".cache" / "ttszoo"
    return Path(cache) / "demo_corpus"


def build_demo_corpus(out_dir=None, limit=None, voice="en-us", words_per_minute=165, progress=True):
    """Speaks the demo sentences into an LJSpeech-format corpus folder.

    Args:
      out_dir: destination (default ``default_corpus_dir()``); created if needed.
      limit: speak only the first ``limit`` sentences (tests use a small slice).
      voice: eSpeak NG voice name.
      words_per_minute: speaking rate.
      progress: show a progress bar.

    Returns:
      ``Path`` of the corpus: ``metadata.csv`` (``demo_0001|text|normalized text``),
      ``wavs/demo_0001.wav`` ... and ``corpus.json`` (the settings, for the cache check).
    """
    out_dir = Path(out_dir) if out_dir is not None else default_corpus_dir()
    sentences = demo_sentences()[:limit]
    if not sentences:
        raise InvalidInputError(
            f"limit={limit} leaves no sentences to speak; use a positive limit or None."
        )
    settings = {
        "version": CORPUS_VERSION,
        "voice": voice,
        "words_per_minute": words_per_minute,
        "sentences_sha256": hashlib.sha256("\n".join(sentences).encode()).hexdigest(),
        "num_utterances": len(sentences),
        "sample_rate": 22050,
    }
    stamp = out_dir / "corpus.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == settings:
        return out_dir
    (out_dir / "wavs").mkdir(parents=True, exist_ok=True)
    ids = [f"demo_{index:04d}" for index in range(1, len(sentences) + 1)]
    job = {"sentences": sentences, "ids": ids, "out_dir": str(out_dir), "voice": voice,
           "words_per_minute": words_per_minute, "progress": progress}  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", "from ttszoo.data.demo_corpus import _speak_all; _speak_all()"],
        input=json.dumps(job),
        text=True,
        check=True,
    )
    rows = [
        f"{item}|{text}|{english_cleaners(text)}" for item, text in zip(ids, sentences, strict=True)
    ]
    (out_dir / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    stamp.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    return out_dir


def _speak_all():
    """Runs in a fresh process (the job as JSON on stdin): speaks every sentence in order."""
    import soundfile
    from tqdm import tqdm

    from ttszoo.text import espeak

    job = json.loads(sys.stdin.read())
    pairs = list(zip(job["ids"], job["sentences"], strict=True))
    for item, sentence in tqdm(
        pairs, desc="Speaking demo corpus", unit="utt", disable=not job["progress"]
    ):
        samples = espeak.synthesize(
            sentence, voice=job["voice"], words_per_minute=job["words_per_minute"]
        )
        path = Path(job["out_dir"]) / "wavs" / f"{item}.wav"
        soundfile.write(str(path), samples, espeak.SAMPLE_RATE, subtype="PCM_16")
