"""The TFRecord format of preprocessed utterances, and the ``features.json`` beside the shards.

One ``tf.train.Example`` per utterance:

| key | type | content |
|---|---|---|
| ``id`` | bytes | utterance id |
| ``text`` | int64 list | token ids, EOS included |
| ``frames`` | int64 | number of spectrogram frames T |
| ``mel`` | bytes | float16 ``[T, n_mels]`` in [0, 1] |
| ``linear`` | bytes | float16 ``[T, n_linear]`` in [0, 1] (optional) |
| ``audio`` | bytes | int16 PCM ``[T * hop_length]`` (optional) |

float16 keeps 11 significant bits, far finer than the [0, 1] dB scale needs (1e-3 of 100 dB);
int16 audio is the source resolution.
"""

import json
import os

import numpy as np
import tensorflow as tf

FORMAT_VERSION = 1
FEATURES_FILE = "features.json"
OPTIONAL_FEATURES = ("linear", "audio")


def _bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def encode_example(item_id, token_ids, features, include=OPTIONAL_FEATURES):
    """Serialises one utterance (an ``AudioFeatures``) deterministically (sorted map keys)."""
    fields = {
        "id": _bytes(item_id.encode("utf-8")),
        "text": _ints(token_ids),
        "frames": _ints([features.mel.shape[0]]),
        "mel": _bytes(features.mel.astype(np.float16).tobytes()),
    }
    if "linear" in include:
        fields["linear"] = _bytes(features.linear.astype(np.float16).tobytes())
    if "audio" in include:
        pcm = np.round(np.clip(features.waveform, -1.0, 1.0) * 32767.0).astype(np.int16)
        fields["audio"] = _bytes(pcm.tobytes())
    example = tf.train.Example(features=tf.train.Features(feature=fields))
    return example.SerializeToString(deterministic=True)


def decoder(audio_config, features=("text", "mel")):
    """Returns ``parse(serialized) -> dict`` of the requested features, as float32/int32 tensors.

    Keys: ``text`` [N], ``text_length`` [], ``mel`` [T, n_mels], ``mel_length`` [],
    ``linear`` [T, n_linear], ``audio`` [T * hop] and ``audio_length`` [].
    """
    spec = {"text": tf.io.VarLenFeature(tf.int64), "frames": tf.io.FixedLenFeature([], tf.int64)}
    for name in ("mel", "linear", "audio"):
        if name in features:
            spec[name] = tf.io.FixedLenFeature([], tf.string)

    def parse(serialized):
        raw = tf.io.parse_single_example(serialized, spec)
        frames = tf.cast(raw["frames"], tf.int32)
        text = tf.cast(tf.sparse.to_dense(raw["text"]), tf.int32)
        out = {"text": text, "text_length": tf.shape(text)[0], "mel_length": frames}
        if "mel" in features:
            out["mel"] = _spectrogram(raw["mel"], frames, audio_config.n_mels)
        if "linear" in features:
            out["linear"] = _spectrogram(raw["linear"], frames, audio_config.n_linear)
        if "audio" in features:
            out["audio"] = tf.cast(tf.io.decode_raw(raw["audio"], tf.int16), tf.float32) / 32767.0
            out["audio_length"] = frames * audio_config.hop_length
        return out

    return parse


def _spectrogram(raw, frames, bins):
    values = tf.cast(tf.io.decode_raw(raw, tf.float16), tf.float32)
    return tf.reshape(values, [frames, bins])


def read_features_file(records_dir):
    """Loads ``features.json``; a clear error when the folder was not made by ``preprocess_corpus``."""
    path = os.path.join(records_dir, FEATURES_FILE)  # a gs:// or ram:// folder too
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(
            f"{path} not found: {records_dir} is not a preprocessed corpus. "
            "Run `ttszoo preprocess --corpus_dir CORPUS --out_dir DIR` first."
        )
    with tf.io.gfile.GFile(path) as stream:
        info = json.loads(stream.read())
    if info.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {info.get('format_version')}, this ttszoo reads "
            f"{FORMAT_VERSION}. Preprocess the corpus again."
        )
    return info
