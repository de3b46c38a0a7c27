"""Corpus -> sharded TFRecords, in parallel over processes, with a progress bar and a summary.

Feature extraction (numpy / librosa) runs in worker subprocesses (``ttszoo.data.workers``)
that never import TensorFlow or the calling script. The parent tokenises the text and writes the shards. Output is
deterministic: utterances are sorted by id, the validation split is chosen by a hash of the
id, shard ``k`` of a split gets every ``num_shards``-th utterance, and examples are
serialised with sorted keys, so a re-run on the same input writes the same bytes.
"""

import dataclasses
import json
import os
import time
import warnings
import zlib

from absl import logging
from tqdm import tqdm

import gin
from ttszoo.audio.config import AudioConfig
from ttszoo.data.ljspeech import CorpusProblem, read_ljspeech, report_problems
from ttszoo.data.workers import extract_in_subprocesses, features_of
from ttszoo.text.tokenizer import Tokenizer, UnknownSymbolWarning

SPLITS = ("train", "validation")


@dataclasses.dataclass
class PreprocessSummary:
    """What ``preprocess_corpus`` did; ``str()`` gives the one-paragraph report it prints."""

    out_dir: str
    counts: dict
    skipped: list
    seconds: float

    @property
    def utterances_per_second(self):
        return sum(self.counts.values()) / max(self.seconds, 1e-9)

    def __str__(self):
        text = (
            f"Preprocessed {sum(self.counts.values())} utterances (train {self.counts['train']}, "
            f"validation {self.counts['validation']}) into {self.out_dir} in {self.seconds:.1f} s "
            f"({self.utterances_per_second:.1f} utterances/s)"
        )
        if self.skipped:
            text += f"; skipped {len(self.skipped)}: " + "; ".join(
                str(problem) for problem in self.skipped
            )
        return text + "."


def _hash(item_id):
    return zlib.crc32(item_id.encode("utf-8")) % 10_000


def _split_of(item_id, validation_fraction):
    bucket = _hash(item_id)
    return "validation" if bucket < validation_fraction * 10_000 else "train"


@gin.register(module="ttszoo.data")
def preprocess_corpus(
    corpus_dir,
    out_dir,
    audio_config=None,
    tokenizer=None,
    num_shards=2,
    num_workers=None,
    validation_fraction=0.05,
    include=("linear", "audio"),
    progress=True,
):
    """Turns an LJSpeech-format corpus into sharded TFRecords plus ``features.json``.

    Args:
      corpus_dir: folder with ``metadata.csv`` and ``wavs/``.
      out_dir: destination folder (created); writes ``train-0000k-of-0000n.tfrecord``,
        ``validation-...`` and ``features.json`` (settings, lengths, skipped items).
      audio_config: ``AudioConfig`` (default: ``AudioConfig()``).
      tokenizer: ``Tokenizer`` (default: ``Tokenizer()``, characters).
      num_shards: shards per split.
      num_workers: feature-extraction processes (default: the CPU count); 1 works in-process.
      validation_fraction: share of utterances, chosen by a hash of the id, held out.
      include: optional features to store besides text and mel: ``"linear"``, ``"audio"``.
      progress: show a progress bar.

    Returns:
      ``PreprocessSummary``. Bad rows and bad audio files are reported (count and names) and
      skipped; they never stop the run. Raises ValueError when nothing usable is left.
    """
    from ttszoo.data import records

    start = time.perf_counter()
    audio_config = audio_config or AudioConfig()
    tokenizer = tokenizer or Tokenizer()
    if num_shards < 1:
        raise ValueError(f"num_shards must be at least 1, got {num_shards}.")
    unknown = sorted(set(include) - set(records.OPTIONAL_FEATURES))
    if unknown:
        raise ValueError(
            f"Unknown features {unknown}; optional features are {records.OPTIONAL_FEATURES}."
        )
    import tensorflow as tf  # imported here, as in _write_split

    out_dir = os.fspath(out_dir)  # a local, gs:// or ram:// folder
    tf.io.gfile.makedirs(out_dir)

    utterances, problems = read_ljspeech(corpus_dir)
    token_ids = {}
    for utterance in utterances:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnknownSymbolWarning)
            try:
                token_ids[utterance.id] = tokenizer.encode(utterance.text)
            except ValueError as error:
                problems.append(CorpusProblem(utterance.id, str(error)))
        for warning in caught:
            logging.warning("%s: %s", utterance.id, warning.message)
    jobs = [
        (u.id, str(u.wav_path), audio_config.to_dict()) for u in utterances if u.id in token_ids
    ]

    examples = {split: [] for split in SPLITS}
    for item_id, features, problem in _extract(jobs, num_workers, progress):
        if problem is not None:
            problems.append(CorpusProblem(item_id, problem))
            continue
        split = _split_of(item_id, validation_fraction)
        examples[split].append((item_id, len(token_ids[item_id]), features.mel.shape[0],
                                records.encode_example(item_id, token_ids[item_id], features, include)))  # fmt: skip
    if not any(examples.values()):
        raise ValueError(f"No usable utterance in {corpus_dir}: " + "; ".join(map(str, problems)))
    if validation_fraction > 0 and not examples["validation"] and len(examples["train"]) > 1:
        # A small corpus gets at least one held-out utterance: the one whose id hashes lowest.
        index = min(range(len(examples["train"])), key=lambda i: _hash(examples["train"][i][0]))
        examples["validation"].append(examples["train"].pop(index))

    info = {
        "format_version": records.FORMAT_VERSION,
        "audio_config": audio_config.to_dict(),
        "tokenizer": tokenizer.get_config(),
        "vocab_size": tokenizer.vocab_size,
        "features": ["text", "mel", *sorted(include)],
        "splits": {},
        "skipped": [dataclasses.asdict(problem) for problem in problems],
    }
    for split, items in examples.items():
        info["splits"][split] = _write_split(records, out_dir, split, items, num_shards)
    with tf.io.gfile.GFile(os.path.join(out_dir, records.FEATURES_FILE), "w") as stream:
        stream.write(json.dumps(info, indent=1, sort_keys=True) + "\n")

    report_problems(problems, total=len(utterances) + len(problems), source=str(corpus_dir))
    counts = {split: len(items) for split, items in examples.items()}
    summary = PreprocessSummary(out_dir, counts, problems, time.perf_counter() - start)
    logging.info("%s", summary)
    return summary


def _extract(jobs, num_workers, progress):
    bar = tqdm(total=len(jobs), desc="Extracting features", unit="utt", disable=not progress)
    num_workers = min(num_workers or os.cpu_count() or 1, max(len(jobs), 1))
    results = (
        map(features_of, jobs) if num_workers == 1 else extract_in_subprocesses(jobs, num_workers)
    )
    with bar:
        for result in results:
            yield result
            bar.update()


def _write_split(records, out_dir, split, items, num_shards):
    import tensorflow as tf

    shards = min(num_shards, len(items)) or 1
    names = [f"{split}-{index:05d}-of-{shards:05d}.tfrecord" for index in range(shards)]
    for index, name in enumerate(names):
        with tf.io.TFRecordWriter(os.path.join(out_dir, name)) as writer:
            for _, _, _, serialized in items[index::shards]:
                writer.write(serialized)
    return {
        "shards": names,
        "num_utterances": len(items),
        "ids": [item[0] for item in items],
        "text_lengths": [item[1] for item in items],
        "mel_lengths": [item[2] for item in items],
    }
