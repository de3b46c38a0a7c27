"""The model directory, the unit of work: what lives where inside it.

<model_dir>/
  operative_config.gin   every gin setting the run used (reloaded on resume and synthesis)
  fingerprint.json       model name, class, hyperparameters, weight shapes, parameter count
  features.json          the audio and text settings of the training features (copied
                         from the records folder; synthesis reads it)
  run.json               the records folder the run trained on, so `ttszoo train
                         --model_dir DIR` alone resumes
  checkpoints/           ckpt-<step>.{index,data-*,complete}, the newest N kept
  train/, validation/    TensorBoard event files
  samples/step-<step>/   wav and png samples written every N steps
"""

import json
import os

import tensorflow as tf

from ttszoo.errors import TTSZooError

OPERATIVE_CONFIG = "operative_config.gin"
FINGERPRINT = "fingerprint.json"
FEATURES = "features.json"
RUN = "run.json"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"


class ModelDirectoryError(TTSZooError, ValueError):
    """Raised when a model directory lacks what an operation needs."""


def _atomic_write(path, text):
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "w") as stream:
        stream.write(text)
    tf.io.gfile.rename(temporary, path, overwrite=True)


class ModelDirectory:
    """Paths and small files of one model directory (local or ``gs://``)."""

    def __init__(self, path):
        self.path = str(path).rstrip("/")

    def join(self, *parts):
        return "/".join([self.path, *parts])

    @property
    def checkpoints(self):
        return self.join(CHECKPOINTS)

    @property
    def fingerprint(self):
        return self.join(FINGERPRINT)

    def sample_dir(self, step):
        return self.join(SAMPLES, f"step-{int(step):09d}")

    def exists(self):
        return tf.io.gfile.isdir(self.path)

    def write_operative_config(self, text):
        tf.io.gfile.makedirs(self.path)
        _atomic_write(self.join(OPERATIVE_CONFIG), text)

    def operative_config(self):
        """Returns the saved operative gin config text, or ``None``."""
        path = self.join(OPERATIVE_CONFIG)
        if not tf.io.gfile.exists(path):
            return None
        with tf.io.gfile.GFile(path) as stream:
            return stream.read()

    def copy_features(self, records_dir):
        """Copies ``<records_dir>/features.json`` in; returns whether there was one."""
        source = f"{str(records_dir).rstrip('/')}/{FEATURES}"
        if not tf.io.gfile.exists(source):
            return False
        tf.io.gfile.makedirs(self.path)
        with tf.io.gfile.GFile(source) as stream:
            _atomic_write(self.join(FEATURES), stream.read())
        return True

    def save_records_dir(self, records_dir):
        """Records the records folder of the run in ``run.json`` (read by ``records_dir()``)."""
        records_dir = str(records_dir)
        if "://" not in records_dir:
            records_dir = os.path.abspath(records_dir)
        _atomic_write(self.join(RUN), json.dumps({"records_dir": records_dir}, indent=1))

    def records_dir(self):
        """The records folder the directory was last trained on, or ``None``."""
        path = self.join(RUN)
        if not tf.io.gfile.exists(path):
            return None
        with tf.io.gfile.GFile(path) as stream:
            return json.loads(stream.read()).get("records_dir")

    def features(self):
        """Returns the parsed ``features.json`` (audio and text settings), or ``{}``."""
        path = self.join(FEATURES)
        if not tf.io.gfile.exists(path):
            return {}
        with tf.io.gfile.GFile(path) as stream:
            text = stream.read()
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelDirectoryError(
                f"{path} is not valid JSON ({error}). Copy features.json back from the records "
                "folder the model was trained on; `ttszoo check` lists every damaged file."
            ) from None

    def audio_config(self):
        """The ``AudioConfig`` of the training features (the default one without features.json)."""
        from ttszoo.audio import AudioConfig

        values = self.features().get("audio_config")
        return AudioConfig() if values is None else AudioConfig.from_dict(values)

    def require_trained(self):
        """Raises ``ModelDirectoryError`` unless the directory holds a trained model."""
        if self.operative_config() is None or not tf.io.gfile.isdir(self.checkpoints):
            raise ModelDirectoryError(
                f"{self.path} is not a trained model directory (it needs {OPERATIVE_CONFIG} and "
                f"{CHECKPOINTS}/). Train one with `ttszoo train --model_dir={self.path} ...`."
            )
