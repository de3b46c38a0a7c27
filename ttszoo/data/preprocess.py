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
from ttszoo.data.features import (
    AXES,
    FRAMES,
    TOKENS,
    FeatureError,
    get_feature,
    required_names,
)
from ttszoo.data.ljspeech import CorpusProblem, read_ljspeech, report_problems
from ttszoo.data.workers import extract_in_subprocesses, features_of
from ttszoo.errors import InvalidInputError
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
        ``validation-...`` and ``features.json`` (settings, the stored features, the speaker
        table, lengths, skipped items).
      audio_config: ``AudioConfig`` (default: ``AudioConfig()``).
      tokenizer: ``Tokenizer`` (default: ``Tokenizer()``, characters).
      num_shards: shards per split.
      num_workers: feature-extraction processes (default: the CPU count); 1 works in-process.
      validation_fraction: share of utterances, chosen by a hash of the id, held out.
      include: optional declared features (``ttszoo.data.features``) to store besides text
        and mel, e.g. ``"linear"``, ``"audio"``. ``"speaker"`` is stored whenever the corpus
        has a speaker column; ``features.json`` then maps speaker names to ids (``speakers``).
      progress: show a progress bar.

    Returns:
      ``PreprocessSummary``. Bad rows and bad audio files are reported (count and names) and
      skipped; they never stop the run. Raises InvalidInputError when nothing usable is left.
    """
    start = time.perf_counter()
    audio_config = audio_config or AudioConfig()
    tokenizer = tokenizer or Tokenizer()
    if num_shards < 1:
        raise InvalidInputError(f"num_shards must be at least 1, got {num_shards}.")
    out_dir = os.fspath(out_dir)  # a local, gs:// or ram:// folder

    utterances, problems = read_ljspeech(corpus_dir)
    speakers = _speaker_table(utterances)
    stored = _stored_features(include, speakers, num_workers)
    token_ids = _tokenize(utterances, tokenizer, problems)
    usable = [utterance for utterance in utterances if utterance.id in token_ids]
    jobs = [_job(u, token_ids[u.id], speakers, stored, audio_config) for u in usable]
    examples = _encode_splits(jobs, num_workers, progress, validation_fraction, problems)
    if not any(examples.values()):
        raise InvalidInputError(
            f"No usable utterance in {corpus_dir}: " + "; ".join(map(str, problems))
        )
    _write_records(  # only once the corpus is known to be usable
        out_dir, examples, num_shards, audio_config, tokenizer, stored, speakers, problems
    )

    report_problems(problems, total=len(utterances) + len(problems), source=str(corpus_dir))
    counts = {split: len(items) for split, items in examples.items()}
    summary = PreprocessSummary(out_dir, counts, problems, time.perf_counter() - start)
    logging.info("%s", summary)
    return summary


def _speaker_table(utterances):
    """``{speaker name: id}`` (ids in name order), empty for a corpus without speakers."""
    names = sorted({u.speaker for u in utterances if u.speaker is not None})
    return {name: index for index, name in enumerate(names)}


def _stored_features(include, speakers, num_workers):
    """The names of the features to store: the required ones, then ``include`` (sorted)."""
    optional = set(include) | ({"speaker"} if speakers else set())
    for name in optional:
        feature = get_feature(name)
        if feature.required:
            raise FeatureError(f"{name!r} is always stored; leave it out of `include`.")
        if (num_workers or 2) > 1 and feature.compute.__module__ == "__main__":
            raise FeatureError(
                f"Feature {name!r} is declared in __main__, which the worker processes cannot "
                "import; declare it in an importable module or pass num_workers=1."
            )
    if "speaker" in optional and not speakers:
        raise FeatureError(
            "`include` names 'speaker', but the corpus has no speaker column; add one "
            "(metadata.csv rows 'id|text|normalized text|speaker') or leave 'speaker' out."
        )
    return (*required_names(), *sorted(optional))


def _tokenize(utterances, tokenizer, problems):
    """``{id: token ids}``; text the tokenizer rejects is a problem, dropped symbols a warning."""
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
    return token_ids


def _job(utterance, token_ids, speakers, stored, audio_config):
    """The feature-extraction job of one utterance (see ``workers.features_of``)."""
    return {
        "id": utterance.id,
        "wav": str(utterance.wav_path),
        "audio_config": audio_config.to_dict(),
        "token_ids": token_ids,
        "speaker_id": speakers.get(utterance.speaker),
        "features": list(stored),
        "modules": sorted({get_feature(name).compute.__module__ for name in stored}),
    }


def _encode_splits(jobs, num_workers, progress, validation_fraction, problems):
    """``{split: [(id, lengths, serialized example)]}``; unusable audio is added to problems."""
    from ttszoo.data import records

    examples = {split: [] for split in SPLITS}
    for item_id, arrays, problem in _extract(jobs, num_workers, progress):
        if problem is not None:
            problems.append(CorpusProblem(item_id, problem))
            continue
        frames = int(arrays.pop("frames"))
        lengths = {FRAMES.length: frames, TOKENS.length: len(arrays["text"])}
        serialized = records.encode_example(item_id, frames, arrays)
        examples[_split_of(item_id, validation_fraction)].append((item_id, lengths, serialized))
    if validation_fraction > 0 and not examples["validation"] and len(examples["train"]) > 1:
        # A small corpus gets at least one held-out utterance: the one whose id hashes lowest.
        index = min(range(len(examples["train"])), key=lambda i: _hash(examples["train"][i][0]))
        examples["validation"].append(examples["train"].pop(index))
    return examples


def _write_records(
    out_dir, examples, num_shards, audio_config, tokenizer, stored, speakers, problems
):
    """Creates ``out_dir`` and writes the shards of every split and ``features.json``."""
    import tensorflow as tf

    from ttszoo.data import records

    tf.io.gfile.makedirs(out_dir)
    info = {
        "format_version": records.FORMAT_VERSION,
        "audio_config": audio_config.to_dict(),
        "tokenizer": tokenizer.get_config(),
        "vocab_size": tokenizer.vocab_size,
        "features": list(stored),
        "speakers": speakers,
        "splits": {
            split: _write_split(out_dir, split, items, num_shards)
            for split, items in examples.items()
        },
        "skipped": [dataclasses.asdict(problem) for problem in problems],
    }
    with tf.io.gfile.GFile(os.path.join(out_dir, records.FEATURES_FILE), "w") as stream:
        stream.write(json.dumps(info, indent=1, sort_keys=True) + "\n")


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


def _write_split(out_dir, split, items, num_shards):
    """Writes one split's shards; returns its ``features.json`` entry (ids and axis lengths)."""
    import tensorflow as tf

    shards = min(num_shards, len(items)) or 1
    names = [f"{split}-{index:05d}-of-{shards:05d}.tfrecord" for index in range(shards)]
    for index, name in enumerate(names):
        with tf.io.TFRecordWriter(os.path.join(out_dir, name)) as writer:
            for _, _, serialized in items[index::shards]:
                writer.write(serialized)
    entry = {"shards": names, "num_utterances": len(items), "ids": [item[0] for item in items]}
    for axis in AXES:
        entry[f"{axis.length}s"] = [item[1][axis.length] for item in items]
    return entry
