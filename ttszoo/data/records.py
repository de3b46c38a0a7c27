"""The TFRecord format of preprocessed utterances, and the ``features.json`` beside the shards.

One ``tf.train.Example`` per utterance: ``id`` (bytes), ``frames`` (int64, the number of
spectrogram frames T) and one entry per stored feature, encoded as its declaration
(``ttszoo.data.features``) says:

| storage | record entry | decoded |
|---|---|---|
| ``int64_list`` | int64 list | int32 ``[L]`` |
| ``int64`` | one int64 | int32 ``[]`` |
| ``float16`` | float16 bytes | float32 ``[L * steps, *dims]`` |
| ``pcm16`` | int16 PCM bytes of values in [-1, 1] | float32 ``[L * steps]`` |

The built-in features: ``text`` (token ids, EOS included), ``mel`` (``[T, n_mels]`` in [0, 1]),
``linear`` (``[T, n_linear]``), ``audio`` (``[T * hop_length]``) and ``speaker`` (the id in
the ``speakers`` table of ``features.json``). float16 keeps 11 significant bits, far finer
than the [0, 1] dB scale needs (1e-3 of 100 dB); int16 audio is the source resolution.
"""

import json
import os

import numpy as np
import tensorflow as tf

from ttszoo.data.features import AXES, get_feature
from ttszoo.errors import InvalidInputError, MissingFileError

FORMAT_VERSION = 1
FEATURES_FILE = "features.json"
PCM_SCALE = 32767.0


def _bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _encode(storage, value):
    if storage == "int64_list":
        return _ints(np.asarray(value).tolist())
    if storage == "int64":
        return _ints([int(value)])
    if storage == "float16":
        return _bytes(np.asarray(value).astype(np.float16).tobytes())
    pcm = np.round(np.clip(value, -1.0, 1.0) * PCM_SCALE).astype(np.int16)
    return _bytes(pcm.tobytes())


def encode_example(item_id, frames, values):
    """Serialises one utterance deterministically (sorted map keys).

    Args:
      item_id: the utterance id.
      frames: its number of spectrogram frames.
      values: ``{feature name: np.ndarray}`` as the features' ``compute`` returns them.
    """
    fields = {"id": _bytes(item_id.encode("utf-8")), "frames": _ints([frames])}
    for name, value in values.items():
        fields[name] = _encode(get_feature(name).storage, value)
    example = tf.train.Example(features=tf.train.Features(feature=fields))
    return example.SerializeToString(deterministic=True)


def _parse_spec(storage):
    if storage == "int64_list":
        return tf.io.VarLenFeature(tf.int64)
    if storage == "int64":
        return tf.io.FixedLenFeature([], tf.int64)
    return tf.io.FixedLenFeature([], tf.string)


def _decode(feature, raw, length, audio_config):
    if feature.storage == "int64_list":
        return tf.cast(tf.sparse.to_dense(raw), tf.int32)
    if feature.storage == "int64":
        return tf.cast(raw, tf.int32)
    if feature.storage == "float16":
        values = tf.cast(tf.io.decode_raw(raw, tf.float16), tf.float32)
    else:
        values = tf.cast(tf.io.decode_raw(raw, tf.int16), tf.float32) / PCM_SCALE
    steps = length * feature.steps_per_frame(audio_config)
    return tf.reshape(values, [steps, *feature.dims(audio_config)])


def decoder(audio_config, features=("text", "mel")):
    """Returns ``parse(serialized) -> dict`` of the requested features, as float32/int32 tensors.

    Besides the features (shapes as in the table above), the dict holds each axis' length
    (``text_length`` [], ``mel_length`` []) and each feature's own ``length_key`` (e.g.
    ``audio_length`` [] = ``mel_length * hop_length``).
    """
    declared = [get_feature(name) for name in features]
    measured_by = [get_feature(axis.measured_by) for axis in AXES if axis.measured_by]
    parsed = {feature.name: feature for feature in [*declared, *measured_by]}
    spec = {name: _parse_spec(feature.storage) for name, feature in parsed.items()}
    spec["frames"] = tf.io.FixedLenFeature([], tf.int64)

    def parse(serialized):
        raw = tf.io.parse_single_example(serialized, spec)
        lengths = {}
        for axis in AXES:
            if axis.measured_by is None:
                lengths[axis.name] = tf.cast(raw["frames"], tf.int32)
            else:
                lengths[axis.name] = tf.cast(raw[axis.measured_by].dense_shape[0], tf.int32)
        decoded = {axis.length: lengths[axis.name] for axis in AXES}
        for name, feature in parsed.items():
            length = None if feature.axis is None else lengths[feature.axis.name]
            if name not in features:
                continue  # parsed only for its length
            decoded[name] = _decode(feature, raw[name], length, audio_config)
            if feature.length_key:
                decoded[feature.length_key] = length * feature.steps_per_frame(audio_config)
        return decoded

    return parse


def read_features_file(records_dir):
    """Loads ``features.json``; a clear error when the folder was not made by ``preprocess_corpus``."""
    path = os.path.join(records_dir, FEATURES_FILE)  # a gs:// or ram:// folder too
    if not tf.io.gfile.exists(path):
        raise MissingFileError(
            f"{path} not found: {records_dir} is not a preprocessed corpus. "
            "Run `ttszoo preprocess --corpus_dir CORPUS --out_dir DIR` first."
        )
    with tf.io.gfile.GFile(path) as stream:
        info = json.loads(stream.read())
    if info.get("format_version") != FORMAT_VERSION:
        raise InvalidInputError(
            f"{path} has format version {info.get('format_version')}, this ttszoo reads "
            f"{FORMAT_VERSION}. Preprocess the corpus again."
        )
    return info
