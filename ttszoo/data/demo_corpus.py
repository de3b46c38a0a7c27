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
import multiprocessing
import os
from pathlib import Path

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
        raise ValueError(
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
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pool.apply(_speak_all, (sentences, ids, str(out_dir), voice, words_per_minute, progress))
    rows = [
        f"{item}|{text}|{english_cleaners(text)}" for item, text in zip(ids, sentences, strict=True)
    ]
    (out_dir / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    stamp.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    return out_dir


def _speak_all(sentences, ids, out_dir, voice, words_per_minute, progress):
    """Runs in a fresh process: speaks every sentence in order and writes 16-bit wavs."""
    import soundfile
    from tqdm import tqdm

    from ttszoo.text import espeak

    for item, sentence in tqdm(
        list(zip(ids, sentences, strict=True)),
        desc="Speaking demo corpus",
        unit="utt",
        disable=not progress,
    ):
        samples = espeak.synthesize(sentence, voice=voice, words_per_minute=words_per_minute)
        soundfile.write(
            str(Path(out_dir) / "wavs" / f"{item}.wav"),
            samples,
            espeak.SAMPLE_RATE,
            subtype="PCM_16",
        )
