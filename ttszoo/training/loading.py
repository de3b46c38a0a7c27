"""Rebuilding a trained model from its model directory, for synthesis and export.

The directory's operative gin config names the model and its hyperparameters; the saved batch
spec builds its weights; the fingerprint is checked; the newest complete checkpoint whose every
tensor reads is restored (a damaged newer one is reported and skipped; model weights only,
never pickles). Loading replaces the current gin configuration.
"""

import dataclasses

import keras
import tensorflow as tf

import gin
from ttszoo.models.registry import get_model, get_model_info
from ttszoo.training.checkpoints import check_weights_are_tracked, newest_readable_checkpoint
from ttszoo.training.fingerprint import check_fingerprint
from ttszoo.training.gin_config import import_configurables
from ttszoo.training.model_dir import ModelDirectory, ModelDirectoryError
from ttszoo.training.specs import example_batch


@dataclasses.dataclass
class TrainedModel:
    """A model restored from a model directory.

    Attributes:
      model: the ``TTSModel`` with its trained weights (float32), ``restored`` called.
      info: its registry ``ModelInfo`` (name, family, paper).
      directory: the ``ModelDirectory``.
      step: the training step of the checkpoint read.
      audio_config: the ``AudioConfig`` of its training features.
      tokenizer_config: the ``Tokenizer`` config of its training text (``None`` if unknown).
    """

    model: keras.Model
    info: object
    directory: ModelDirectory
    step: int
    audio_config: object
    tokenizer_config: dict | None


def load_trained_model(model_dir):
    """Restores the newest checkpoint of ``model_dir``; returns a ``TrainedModel``.

    Raises:
      ModelDirectoryError: the directory holds no trained model.
      FingerprintMismatchError: the code now builds a different model than the one trained.
      CorruptCheckpointsError: every checkpoint of the directory is damaged.
    """
    directory = ModelDirectory(model_dir)
    directory.require_trained()
    latest = newest_readable_checkpoint(directory.checkpoints)
    if latest is None:
        raise ModelDirectoryError(
            f"{directory.path} has no complete checkpoint yet; train it first."
        )
    step, prefix = latest
    import_configurables()
    gin.clear_config()
    gin.parse_config(directory.operative_config(), skip_unknown=True)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        model = get_model()
        model.compute_losses(example_batch(directory), training=False)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    check_fingerprint(directory.fingerprint, model)
    check_weights_are_tracked(model)
    tf.train.Checkpoint(model=model).read(prefix).expect_partial().assert_existing_objects_matched()
    model.restored(directory)
    return TrainedModel(
        model=model,
        info=get_model_info(model.registry_name),
        directory=directory,
        step=step,
        audio_config=directory.audio_config(),
        tokenizer_config=directory.features().get("tokenizer"),
    )
