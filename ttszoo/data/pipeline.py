"""The tf.data input pipeline: length buckets padded to their boundary, static batch shapes."""

import os

import numpy as np
import tensorflow as tf
from absl import logging

import gin
from ttszoo.audio.config import AudioConfig
from ttszoo.data import records
from ttszoo.data.features import AXES, BUCKET_AXIS, FRAMES, TOKENS, FeatureError, get_feature
from ttszoo.errors import InvalidInputError


def bucket_boundaries(mel_lengths, num_buckets, frame_multiple=1):
    """Upper frame limits of ``num_buckets`` buckets holding about equally many utterances.

    Each boundary is rounded up to a multiple of ``frame_multiple`` (the reduction factor of
    a model that folds frames); the last one covers the longest utterance. Duplicates merge.
    """
    lengths = np.asarray(mel_lengths)
    quantiles = np.quantile(lengths, np.linspace(0, 1, num_buckets + 1)[1:], method="higher")
    rounded = np.ceil(quantiles / frame_multiple).astype(int) * frame_multiple
    return sorted({int(value) for value in rounded})


@gin.register(module="ttszoo.data")
def make_dataset(
    records_dir,
    split="train",
    batch_size=16,
    features=("text", "mel"),
    num_buckets=4,
    frame_multiple=1,
    max_frames=None,
    max_text_length=None,
    shuffle=None,
    repeat=None,
    seed=0,
    shuffle_buffer=512,
    cache=True,
):
    """Batches of preprocessed utterances with one static shape per length bucket.

    Utterances are grouped by mel length into ``num_buckets`` buckets; a batch is padded to
    its bucket's frame boundary and to the longest text of that bucket (rounded up to 8), and
    incomplete batches are dropped (``drop_remainder``), so every batch of a bucket has the
    same shape and an XLA-compiled step compiles once per bucket. ``num_buckets=1`` gives a
    single static shape (the ``element_spec`` is fully defined), which TPUs prefer. How each
    feature is decoded and padded comes from its declaration in ``ttszoo.data.features``.

    Args:
      records_dir: output folder of ``preprocess_corpus``.
      split: ``"train"`` or ``"validation"``.
      batch_size: utterances per batch (global batch under a distribution strategy).
      features: names of declared features the records hold (``text``, ``mel``, ``linear``,
        ``audio``, ``speaker``, ...).
      num_buckets: number of length buckets.
      frame_multiple: bucket boundaries are multiples of this (e.g. the reduction factor).
      max_frames, max_text_length: drop longer utterances (the count is logged).
      shuffle, repeat: default to True for ``"train"`` and False otherwise.
      seed: shuffle seed.
      shuffle_buffer: utterances in the shuffle buffer.
      cache: keep the serialised records in memory after the first pass.

    Returns:
      ``tf.data.Dataset`` of dicts: the requested features (``speaker`` int32 [B], ``mel``
      float32 [B, T, n_mels], ...), ``text_length`` and ``mel_length`` int32 [B], and the
      masks of the axes the features lie on; docs/data.md lists every key with its shape.
    """
    _check_settings(records_dir, batch_size)
    info = records.read_features_file(records_dir)
    _check_request(info, split, features, records_dir)
    audio_config = AudioConfig.from_dict(info["audio_config"])
    split_info = info["splits"][split]
    limits = {FRAMES.name: max_frames, TOKENS.name: max_text_length}
    lengths = _kept_lengths(split_info, limits, batch_size, split)
    pads = _bucket_pads(lengths, num_buckets, frame_multiple)
    shuffle = split == "train" if shuffle is None else shuffle
    repeat = split == "train" if repeat is None else repeat
    shards = [os.path.join(records_dir, name) for name in split_info["shards"]]  # gs:// too
    dataset = _read_records(shards, cache, shuffle, repeat, seed, shuffle_buffer)
    dataset = dataset.map(records.decoder(audio_config, features), tf.data.AUTOTUNE)
    dataset = dataset.filter(_length_filter(limits))
    dataset = _bucketed_batches(dataset, features, pads, audio_config, batch_size)
    dataset = dataset.map(_mask_adder(features, audio_config), tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _check_settings(records_dir, batch_size):
    """Raises InvalidInputError for a missing records folder or a bad batch size."""
    if records_dir is None:
        raise InvalidInputError(
            "No records folder was given and the model directory names none: pass "
            "--records_dir (the --out_dir of `ttszoo preprocess`)."
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(
            f"make_dataset.batch_size must be a positive integer, got {batch_size!r}; set it "
            "with --gin_param=make_dataset.batch_size=16 (or in the recipe)."
        )


def _read_records(paths, cache, shuffle, repeat, seed, shuffle_buffer):
    """The serialised records of ``paths``, cached, shuffled and repeated as asked."""
    dataset = tf.data.TFRecordDataset(paths)
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return dataset.repeat() if repeat else dataset


def _check_request(info, split, features, records_dir):
    if split not in info["splits"]:
        raise InvalidInputError(
            f"Unknown split {split!r}; {records_dir} has {sorted(info['splits'])}."
        )
    for name in features:
        get_feature(name)  # a clear error for an undeclared name
    missing = sorted(set(features) - set(info["features"]))
    if missing:
        raise FeatureError(
            f"Features {sorted(features)} requested, but {records_dir} stores {info['features']}. "
            "Preprocess again with the missing features in `include` ('speaker' needs a corpus "
            "with a speaker column)."
        )


def _kept_lengths(split_info, limits, batch_size, split):
    """``{axis name: lengths}`` of the utterances within ``limits`` (``{axis name: max}``)."""
    lengths = {axis.name: np.asarray(split_info[f"{axis.length}s"]) for axis in AXES}
    keep = np.ones(len(lengths[BUCKET_AXIS.name]), bool)
    for axis in AXES:
        if limits[axis.name] is not None:
            keep &= lengths[axis.name] <= limits[axis.name]
    if keep.sum() < batch_size:
        raise InvalidInputError(
            f"Only {int(keep.sum())} {split} utterances fit max_frames={limits[FRAMES.name]} / "
            f"max_text_length={limits[TOKENS.name]}, fewer than batch_size={batch_size}. "
            "Lower batch_size or raise the limits."
        )
    if not keep.all():
        logging.warning(
            "Dropping %d of %d %s utterances longer than the limits.",
            (~keep).sum(),
            keep.size,
            split,
        )
    return {name: values[keep] for name, values in lengths.items()}


def _bucket_pads(lengths, num_buckets, frame_multiple):
    """``{axis name: [padded length of bucket k]}``: boundaries on the bucket axis, else maxima.

    Every padded length is a multiple of its axis' ``pad_multiple`` (and the bucket axis' also
    of ``frame_multiple``).
    """
    bucketed = lengths[BUCKET_AXIS.name]
    multiple = int(np.lcm(frame_multiple, BUCKET_AXIS.pad_multiple))
    boundaries = bucket_boundaries(bucketed, num_buckets, multiple)
    bucket_of = np.searchsorted(boundaries, bucketed)
    pads = {BUCKET_AXIS.name: boundaries}
    for axis in AXES:
        if axis is not BUCKET_AXIS:
            pads[axis.name] = [
                int(np.ceil(lengths[axis.name][bucket_of == k].max(initial=1) / axis.pad_multiple))
                * axis.pad_multiple
                for k in range(len(boundaries))
            ]
    return pads


def _length_filter(limits):
    def keep(example):
        ok = tf.constant(True)
        for axis in AXES:
            if limits[axis.name] is not None:
                ok = tf.logical_and(ok, example[axis.length] <= limits[axis.name])
        return ok

    return keep


def _padding(features, pads, audio_config):
    """``key -> (padded_shapes, padding_values)`` for ``padded_batch``, from the declarations.

    A static (Python int) bucket key gives Python ints, a tensor key gathers tensors.
    """
    tables = {name: tf.constant(values, tf.int64) for name, values in pads.items()}
    declared = [get_feature(name) for name in features]
    values = {axis.length: tf.constant(0, tf.int32) for axis in AXES}
    for feature in declared:
        values[feature.name] = tf.cast(feature.pad_value, feature.dtype)
        if feature.length_key:
            values[feature.length_key] = tf.constant(0, tf.int32)

    def padding(key):
        sizes = {
            name: tf.gather(tables[name], key) if tf.is_tensor(key) else pads[name][key]
            for name in pads
        }
        shapes = {axis.length: [] for axis in AXES}
        for feature in declared:
            length = None if feature.axis is None else sizes[feature.axis.name]
            shapes[feature.name] = list(feature.shape(audio_config, length))
            if feature.length_key:
                shapes[feature.length_key] = []
        return shapes, values

    return padding


def _bucketed_batches(dataset, features, pads, audio_config, batch_size):
    """Groups utterances by bucket and pads each batch to its bucket's shapes (drop_remainder).

    ``pads``: ``{axis name: [padded length of bucket k]}``. With one bucket the batch shapes
    are set statically.
    """
    padding = _padding(features, pads, audio_config)
    boundaries = pads[BUCKET_AXIS.name]
    limits = tf.constant(boundaries, tf.int32)

    def bucket_of(example):
        length = example[BUCKET_AXIS.length][tf.newaxis]
        return tf.cast(tf.searchsorted(limits, length)[0], tf.int64)

    def batch_bucket(key, window):
        shapes, values = padding(key)
        return window.padded_batch(
            batch_size, padded_shapes=shapes, padding_values=values, drop_remainder=True
        )

    dataset = dataset.group_by_window(bucket_of, batch_bucket, window_size=batch_size)
    if len(boundaries) == 1:
        static_shapes, _ = padding(0)

        def set_shapes(batch):
            return {
                name: tf.ensure_shape(value, [batch_size, *static_shapes[name]])
                for name, value in batch.items()
            }

        dataset = dataset.map(set_shapes)
    return dataset


def _mask_adder(features, audio_config):
    """``batch -> batch`` with the mask of every axis that a requested feature lies on.

    The mask's width is the padded length of the first such feature over its steps per frame.
    """
    measured = {}
    for name in features:
        feature = get_feature(name)
        if feature.axis is not None and feature.axis not in measured:
            measured[feature.axis] = (name, feature.steps_per_frame(audio_config))

    def add_masks(batch):
        for axis, (name, steps) in measured.items():
            width = tf.shape(batch[name])[1] // steps
            batch[axis.mask] = tf.sequence_mask(batch[axis.length], width, tf.float32)
        return batch

    return add_masks
