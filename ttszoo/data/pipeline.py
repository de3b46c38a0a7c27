"""The tf.data input pipeline: length buckets padded to their boundary, static batch shapes."""

import os

import numpy as np
import tensorflow as tf
from absl import logging

import gin
from ttszoo.audio.config import AudioConfig
from ttszoo.data import records

FEATURES = ("text", "mel", "linear", "audio")
TEXT_PAD_MULTIPLE = 8


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
    single static shape (the ``element_spec`` is fully defined), which TPUs prefer.

    Args:
      records_dir: output folder of ``preprocess_corpus``.
      split: ``"train"`` or ``"validation"``.
      batch_size: utterances per batch (global batch under a distribution strategy).
      features: subset of ``("text", "mel", "linear", "audio")``.
      num_buckets: number of length buckets.
      frame_multiple: bucket boundaries are multiples of this (e.g. the reduction factor).
      max_frames, max_text_length: drop longer utterances (the count is logged).
      shuffle, repeat: default to True for ``"train"`` and False otherwise.
      seed: shuffle seed.
      shuffle_buffer: utterances in the shuffle buffer.
      cache: keep the serialised records in memory after the first pass.

    Returns:
      ``tf.data.Dataset`` of dicts: ``text`` int32 [B, N] (0 = pad), ``text_length`` int32 [B],
      ``text_mask`` float32 [B, N], ``mel_length`` int32 [B], ``mel_mask`` float32 [B, T], and
      as requested ``mel`` float32 [B, T, n_mels], ``linear`` float32 [B, T, n_linear],
      ``audio`` float32 [B, T * hop_length] with ``audio_length`` int32 [B].
    """
    info = records.read_features_file(records_dir)
    if split not in info["splits"]:
        raise ValueError(f"Unknown split {split!r}; {records_dir} has {sorted(info['splits'])}.")
    missing = sorted(set(features) - set(info["features"]))
    if missing or not set(features) <= set(FEATURES):
        raise ValueError(
            f"Features {sorted(features)} requested, but {records_dir} stores {info['features']}. "
            "Preprocess again with the missing features in `include`."
        )
    audio_config = AudioConfig.from_dict(info["audio_config"])
    split_info = info["splits"][split]
    text_lengths = np.asarray(split_info["text_lengths"])
    mel_lengths = np.asarray(split_info["mel_lengths"])
    keep = np.ones(len(mel_lengths), bool)
    if max_frames is not None:
        keep &= mel_lengths <= max_frames
    if max_text_length is not None:
        keep &= text_lengths <= max_text_length
    if keep.sum() < batch_size:
        raise ValueError(
            f"Only {int(keep.sum())} {split} utterances fit max_frames={max_frames} / "
            f"max_text_length={max_text_length}, fewer than batch_size={batch_size}. "
            "Lower batch_size or raise the limits."
        )
    if not keep.all():
        logging.warning(
            "Dropping %d of %d %s utterances longer than the limits.",
            (~keep).sum(),
            keep.size,
            split,
        )

    boundaries = bucket_boundaries(mel_lengths[keep], num_buckets, frame_multiple)
    bucket_of = np.searchsorted(boundaries, mel_lengths[keep])
    text_pads = [
        int(
            np.ceil(text_lengths[keep][bucket_of == k].max(initial=1) / TEXT_PAD_MULTIPLE)
            * TEXT_PAD_MULTIPLE
        )
        for k in range(len(boundaries))
    ]
    shuffle = split == "train" if shuffle is None else shuffle
    repeat = split == "train" if repeat is None else repeat

    files = [os.path.join(records_dir, name) for name in split_info["shards"]]  # gs:// too
    dataset = tf.data.TFRecordDataset(files)
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.map(
        records.decoder(audio_config, features), num_parallel_calls=tf.data.AUTOTUNE
    )
    dataset = dataset.filter(_length_filter(max_frames, max_text_length))
    padded_shapes = _padded_shapes(features, boundaries, text_pads, audio_config)
    dataset = dataset.group_by_window(
        key_func=_bucket_key(boundaries),
        reduce_func=lambda key, window: window.padded_batch(
            batch_size, padded_shapes=padded_shapes(key), drop_remainder=True
        ),
        window_size=batch_size,
    )
    if len(boundaries) == 1:
        dataset = dataset.map(_static_shapes(padded_shapes(0), batch_size))
    dataset = dataset.map(_add_masks, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _length_filter(max_frames, max_text_length):
    def keep(example):
        ok = tf.constant(True)
        if max_frames is not None:
            ok = tf.logical_and(ok, example["mel_length"] <= max_frames)
        if max_text_length is not None:
            ok = tf.logical_and(ok, example["text_length"] <= max_text_length)
        return ok

    return keep


def _bucket_key(boundaries):
    limits = tf.constant(boundaries, tf.int32)

    def key(example):
        return tf.cast(tf.searchsorted(limits, example["mel_length"][tf.newaxis])[0], tf.int64)

    return key


def _padded_shapes(features, boundaries, text_pads, audio_config):
    """``key -> padded_shapes`` for ``padded_batch``: Python ints for a static key, else tensors."""

    def shapes(key):
        frames = (
            tf.gather(tf.constant(boundaries, tf.int64), key)
            if tf.is_tensor(key)
            else boundaries[key]
        )
        text = (
            tf.gather(tf.constant(text_pads, tf.int64), key)
            if tf.is_tensor(key)
            else text_pads[key]
        )
        out = {"text": [text], "text_length": [], "mel_length": []}
        if "mel" in features:
            out["mel"] = [frames, audio_config.n_mels]
        if "linear" in features:
            out["linear"] = [frames, audio_config.n_linear]
        if "audio" in features:
            out["audio"] = [frames * audio_config.hop_length]
            out["audio_length"] = []
        return out

    return shapes


def _static_shapes(shapes, batch_size):
    def set_shapes(batch):
        for name, shape in shapes.items():
            batch[name] = tf.ensure_shape(batch[name], [batch_size, *shape])
        return batch

    return set_shapes


def _add_masks(batch):
    batch["text_mask"] = tf.sequence_mask(
        batch["text_length"], tf.shape(batch["text"])[1], tf.float32
    )
    batch["mel_mask"] = tf.sequence_mask(
        batch["mel_length"],
        tf.shape(batch["mel"] if "mel" in batch else batch["linear"])[1],
        tf.float32,
    )
    return batch
