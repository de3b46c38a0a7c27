"""The contract every model of the zoo implements: ``TTSModel`` and its two families.

The trainer, the loader, the Synthesizer and the exporter talk to a model only through this
class (docs/model_directory.md has the table and a GAN example)::

    @register_model("my_vocoder", paper="...", description="...")
    class MyVocoder(VocoderModel):
        features = ("mel", "audio")
        def compute_losses(self, batch, training=False): ...   # {"loss": ..., ...}
        def vocode(self, mel): ...                               # {"audio": [B, S]}

A model with several players (a GAN) returns one ``LossGroup`` per player from
``loss_groups()``; the trainer gives each its own optimizer and applies them in order.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from ttszoo.errors import InvalidInputError

FAMILIES = ("acoustic", "vocoder")


@dataclasses.dataclass(frozen=True, eq=False)  # compared by identity: it holds variables
class LossGroup:
    """One player of a model's training: a loss, the variables it moves and when it moves them.

    The trainer builds the group's optimizer with its ``optimizer_fn`` (learning-rate schedule
    and gradient clipping included, e.g. ``make_optimizer``) inside the gin scope ``name``
    (``discriminator/make_optimizer.learning_rate = 2e-4``); the default group ``"loss"`` uses
    no scope. Each training step runs the active groups in order; each runs
    ``compute_losses(batch, training=True)`` afresh, so it sees the updates of the groups before
    it (HiFi-GAN: the discriminator group first, then the generator group).

    Attributes:
      name: the group's name (an identifier: optimizer, gin scope, learning-rate log).
      loss: the key of ``compute_losses``' dict that the group minimises.
      variables: the variables it updates (``None``: every trainable variable of the model).
      every: the group updates at the steps ``s >= start`` with ``(s - start) % every == 0``
        (``s`` counts from 0).
      start: the first step at which it updates.
      optimizer_fn: ``optimizer_fn(precision=...)`` building its optimizer; ``None`` takes the
        trainer's ``optimizer_fn``.
    """

    name: str
    loss: str
    variables: tuple | None = None
    every: int = 1
    start: int = 0
    optimizer_fn: object = None

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(
                f"LossGroup name must be an identifier (it names a gin scope), got {self.name!r}."
            )
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(
                f"LossGroup {self.name!r}: every must be an int >= 1, got {self.every!r}."
            )
        if isinstance(self.start, bool) or not isinstance(self.start, int) or self.start < 0:
            raise ValueError(
                f"LossGroup {self.name!r}: start must be an int >= 0, got {self.start!r}."
            )
        if self.variables is not None:
            object.__setattr__(self, "variables", tuple(self.variables))

    @property
    def always(self):
        """Whether the group updates at every step."""
        return self.every == 1 and self.start == 0

    def active(self, step):
        """Whether the group updates at the training step ``step`` (an int, from 0)."""
        return step >= self.start and (step - self.start) % self.every == 0


class TTSModel(keras.Model):
    """The base of every registered model (keras-hub's Backbone in spirit).

    Subclass ``AcousticModel`` or ``VocoderModel``, not this class. Class attributes:

    Attributes:
      family: ``"acoustic"`` or ``"vocoder"`` (``register_model`` reads it).
      features: the data features ``compute_losses`` reads from a batch, e.g.
        ``("text", "mel")``; their ``*_length`` entries come with them. ``check_batch``
        refuses a batch that lacks one.
    """

    family = None
    features = ()

    def compute_losses(self, batch, training=False):
        """The named losses of ``batch``: a dict of float scalars, each the batch mean.

        Every key a ``LossGroup`` minimises must be present (``"loss"`` for ordinary models);
        the trainer logs every entry. Must be traceable and XLA-compilable (static shapes).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement compute_losses().")

    def loss_groups(self):
        """The players of training, in update order; one group ``"loss"`` over every variable."""
        return (LossGroup("loss", "loss"),)

    def sample(self, batch):
        """Images and audio of the first utterance for TensorBoard (see ``training.summaries``).

        Returns ``{"images": {...}, "audio": {...}, "linear": {...}}`` entries; none by default.
        """
        return {}

    def restored(self, directory):
        """Called by the loader after a checkpoint is read from ``directory`` (a
        ``ModelDirectory``): turn state kept in weights or files back into attributes."""

    def trace_constants(self):
        """The Python constants baked into a traced training step (the trainer retraces when
        one changes), e.g. ``{"reduction_factor": 2}``; none by default."""
        return {}

    def set_active_groups(self, names):
        """Called by the trainer before it traces or runs steps: ``names`` (a tuple) are the
        ``loss_groups()`` that update in those steps. A model whose losses depend on which
        players train (a GAN vocoder's generator before its discriminators start) sets the
        attributes its ``trace_constants`` report; nothing by default."""

    def check_batch(self, batch):
        """Raises a ValueError naming every feature of ``features`` that ``batch`` lacks."""
        missing = [name for name in self.features if name not in batch]
        if missing:
            raise InvalidInputError(
                f"{type(self).__name__} trains on the features {list(self.features)}, but the "
                f"batch lacks {missing} (it has {sorted(batch)}). Preprocess the records with "
                f"them and list them in make_dataset.features."
            )


class AcousticModel(TTSModel):
    """Text ids -> spectrogram. Set ``vocab_size`` (and ``max_text_length``, or keep None)."""

    family = "acoustic"
    features = ("text", "mel")
    max_text_length = None

    def synthesize(self, text_ids):
        """Text ids int32 ``[B, N]`` (0 = padding, at the end) -> dict with ``"mel"``
        ``[B, T, n_mels]`` and optionally ``"linear"``, ``"alignment"`` ``[B, N, T]``, lengths."""
        raise NotImplementedError(f"{type(self).__name__} must implement synthesize().")

    def set_attention_forcing(self, enabled):
        """Switches the inference-time attention forcing on (the rule the model was configured
        with) or off, so its own attention can be judged (``ttszoo evaluate --forcing``).

        Models whose synthesis never forces a step (``"forced"`` all False) have nothing to
        switch and keep synthesizing as before.
        """

    def check_text_ids(self, text_ids):
        """Returns ``text_ids`` as int32 ``[B, N]``; a ValueError for ids the model cannot speak.

        Refused: non-integer ids, another rank, no symbol, more than ``max_text_length``
        symbols, ids outside ``[0, vocab_size)``, a row of padding only, padding before a
        symbol. Values are checked in Python when eager and by assertions in a graph.
        """
        text_ids = tf.convert_to_tensor(text_ids)
        if not text_ids.dtype.is_integer:
            raise InvalidInputError(
                f"text_ids must be integer symbol ids, got dtype {text_ids.dtype.name}."
            )
        if text_ids.shape.rank != 2:
            raise InvalidInputError(
                f"text_ids must have shape [batch, symbols], got {text_ids.shape}; "
                "wrap one utterance as [ids]."
            )
        length = text_ids.shape[1]
        if length == 0:
            raise InvalidInputError("The text is empty; give at least one speakable symbol.")
        if (
            self.max_text_length is not None
            and length is not None
            and length > self.max_text_length
        ):
            raise InvalidInputError(
                f"The text has {length} symbols, more than max_text_length={self.max_text_length} "
                f"that {type(self).__name__} synthesizes; split it into sentences, or raise "
                "max_text_length and fine-tune."
            )
        text_ids = tf.cast(text_ids, tf.int32)
        if tf.executing_eagerly():
            self._check_id_values(text_ids.numpy())
        else:
            tf.debugging.assert_non_negative(text_ids, "text_ids must be >= 0 (0 is padding).")
            tf.debugging.assert_less(
                text_ids, self.vocab_size, f"text_ids must be < vocab_size={self.vocab_size}."
            )
        return text_ids

    def _check_id_values(self, ids):
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise InvalidInputError(
                f"text_ids must lie in [0, {self.vocab_size}) (0 is padding), got values from "
                f"{ids.min()} to {ids.max()}; encode the text with the model's tokenizer."
            )
        lengths = (ids > 0).sum(axis=1)
        if (lengths == 0).any():
            raise InvalidInputError(
                f"Rows {np.flatnonzero(lengths == 0).tolist()} of text_ids hold only padding, an "
                "empty text; every utterance needs at least one symbol."
            )
        if ((ids > 0) != (np.arange(ids.shape[1]) < lengths[:, None])).any():
            raise InvalidInputError("text_ids must put padding (0) only at the end of each row.")


class VocoderModel(TTSModel):
    """Mel spectrogram -> waveform (``"audio"``) or linear spectrogram (``"linear"``)."""

    family = "vocoder"
    features = ("mel", "audio")

    def vocode(self, mel):
        """Mel ``[B, T, n_mels]`` -> dict with ``"audio"`` ``[B, S]`` in [-1, 1] or ``"linear"``
        ``[B, T', n_linear]`` normalised (the Synthesizer runs Griffin-Lim on it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement vocode().")


REQUIRED_METHODS = {
    "acoustic": ("compute_losses", "synthesize"),
    "vocoder": ("compute_losses", "vocode"),
}
FAMILY_BASES = {"acoustic": AcousticModel, "vocoder": VocoderModel}


def missing_methods(cls):
    """The contract methods the model class ``cls`` leaves unimplemented."""
    base = FAMILY_BASES[cls.family]
    return [
        name for name in REQUIRED_METHODS[cls.family] if getattr(cls, name) is getattr(base, name)
    ]
