"""Every data feature of ttszoo, declared once.

A ``Feature`` says everything the data code needs to know about one entry of a training batch:
its name (the batch key the models read: ``text``, ``mel``, ``linear``, ``audio``,
``speaker``), its dtype and per-step shape (from the ``AudioConfig`` where relevant), how it is
computed from one corpus row, how it is stored in a TFRecord and how it is padded in a batch.
The preprocessor (``preprocess``, ``workers``), the record codec (``records``) and the input
pipeline (``pipeline``) only read these declarations, so a new feature (durations, pitch,
energy, ...) is one ``register_feature`` call:

    register_feature(Feature(
        name="energy", dtype="float32", storage="float16", axis=FRAMES,
        compute=lambda row, config: frame_energy(row.audio.waveform, config)))

A feature lies along an ``Axis`` (its leading dimension follows the utterance's token count or
frame count) or is one value per utterance (``axis=None``, e.g. ``speaker``). Along an axis it
has ``steps_per_frame(config)`` steps per axis position (``hop_length`` samples per frame for
``audio``) and trailing dimensions ``dims(config)``. Batches pad it with ``pad_value`` to the
length its axis has in the batch's bucket.

This module imports neither TensorFlow nor librosa: the feature-extraction workers use it.
"""

import dataclasses
from collections.abc import Callable

import numpy as np

from ttszoo.errors import TTSZooError

STORAGES = ("int64_list", "int64", "float16", "pcm16")
RESERVED_KEYS = ("id", "frames")  # record entries that are not features
DTYPES = ("int32", "float32")


class FeatureError(TTSZooError, ValueError):
    """A bad feature declaration, an undeclared feature, or a feature the data cannot give."""


@dataclasses.dataclass(frozen=True)
class Axis:
    """A variable-length axis of the utterances.

    Attributes:
      name: ``"tokens"`` or ``"frames"``.
      length: batch key of the per-utterance length along it (int32 [B]); ``features.json``
        lists the lengths of each split under ``<length>s``.
      mask: batch key of its float32 [B, L] mask (1 inside the utterance).
      pad_multiple: a batch pads this axis to a multiple of it.
      measured_by: the ``int64_list`` feature whose number of values is the length (``None``:
        the record's ``frames`` entry).
    """

    name: str
    length: str
    mask: str
    pad_multiple: int
    measured_by: str | None = None


TOKENS = Axis("tokens", length="text_length", mask="text_mask", pad_multiple=8, measured_by="text")
FRAMES = Axis("frames", length="mel_length", mask="mel_mask", pad_multiple=1)
AXES = (TOKENS, FRAMES)
BUCKET_AXIS = FRAMES  # utterances are bucketed by their length along this axis


@dataclasses.dataclass(frozen=True)
class FeatureSource:
    """What a feature is computed from: one corpus row after tokenisation and audio analysis.

    Attributes:
      token_ids: the tokenised text, EOS included (list of ints).
      audio: the row's ``ttszoo.audio.AudioFeatures`` (trimmed waveform, linear, mel).
      speaker_id: the row's id in the corpus' speaker table, or ``None`` without speakers.
    """

    token_ids: list
    audio: object
    speaker_id: int | None


def _no_dims(config):
    return ()


def _one_step(config):
    return 1


@dataclasses.dataclass(frozen=True)
class Feature:
    """The declaration of one data feature (see the module docstring).

    Attributes:
      name: the batch key.
      dtype: ``"float32"`` or ``"int32"``, the dtype in batches.
      storage: how a record holds it: ``"int64_list"`` (ints), ``"int64"`` (one int),
        ``"float16"`` (raw float16 bytes) or ``"pcm16"`` (values in [-1, 1] as int16 PCM).
      compute: ``compute(FeatureSource, AudioConfig) -> np.ndarray`` of shape
        ``[length * steps_per_frame, *dims]`` (``[]`` without an axis).
      axis: the ``Axis`` its leading dimension follows, or ``None`` for one value per utterance.
      dims: ``dims(AudioConfig) -> tuple`` of trailing dimensions (e.g. ``(n_mels,)``).
      steps_per_frame: ``steps_per_frame(AudioConfig) -> int`` steps per axis position.
      pad_value: the value of padded positions in a batch.
      length_key: an extra batch key holding its own length (``axis length * steps``), e.g.
        ``audio_length``; ``None`` for none.
      required: always stored by the preprocessor (``text`` and ``mel``).
    """

    name: str
    dtype: str
    storage: str
    compute: Callable
    axis: Axis | None = None
    dims: Callable = _no_dims
    steps_per_frame: Callable = _one_step
    pad_value: float = 0.0
    length_key: str | None = None
    required: bool = False

    def __post_init__(self):
        if self.name in RESERVED_KEYS:
            raise FeatureError(
                f"{self.name!r} is a reserved record key; name the feature otherwise."
            )
        if self.dtype not in DTYPES:
            raise FeatureError(
                f"Feature {self.name!r}: dtype must be one of {DTYPES}, got {self.dtype!r}."
            )
        if self.storage not in STORAGES:
            raise FeatureError(
                f"Feature {self.name!r}: storage must be one of {STORAGES}, got {self.storage!r}."
            )
        if (self.axis is None) != (self.storage == "int64"):
            raise FeatureError(
                f"Feature {self.name!r}: storage 'int64' holds one value per utterance and needs "
                f"axis=None; the other storages need an axis (got storage={self.storage!r}, "
                f"axis={self.axis})."
            )

    def shape(self, config, length=None):
        """The shape of one utterance's value: ``[length * steps, *dims]`` or ``[]``."""
        if self.axis is None:
            return ()
        steps = None if length is None else length * self.steps_per_frame(config)
        return (steps, *self.dims(config))

    def computed(self, source, config, axis_lengths):
        """``compute`` with its result checked against the declared shape; a clear error if not.

        ``axis_lengths`` maps axis names to the utterance's lengths along them.
        """
        value = np.asarray(self.compute(source, config))
        length = None if self.axis is None else axis_lengths[self.axis.name]
        expected = self.shape(config, length)
        if value.shape != expected:
            raise FeatureError(
                f"Feature {self.name!r} computed a value of shape {value.shape}, but its "
                f"declaration gives {expected}; fix its compute function or its dims / "
                "steps_per_frame."
            )
        return value


_REGISTRY = {}


def register_feature(feature, replace=False):
    """Adds ``feature`` to the declared features; returns it.

    Raises:
      FeatureError: a feature of that name is declared already (``replace=True`` overrides it).
    """
    if feature.name in _REGISTRY and not replace:
        raise FeatureError(
            f"A feature named {feature.name!r} is declared already; pick another name or pass "
            "replace=True."
        )
    _REGISTRY[feature.name] = feature
    return feature


def unregister_feature(name):
    """Removes a declared feature (e.g. one a test added)."""
    get_feature(name)
    del _REGISTRY[name]


def get_feature(name):
    """The declaration of ``name``; a ``FeatureError`` naming the declared features otherwise."""
    if name not in _REGISTRY:
        raise FeatureError(
            f"Unknown feature {name!r}; declared features are {sorted(_REGISTRY)}. Declare new "
            "ones with ttszoo.data.features.register_feature."
        )
    return _REGISTRY[name]


def required_names():
    """The features every record holds (``text``, ``mel``), in declaration order."""
    return tuple(feature.name for feature in _REGISTRY.values() if feature.required)


def _speaker_id(source, config):
    if source.speaker_id is None:
        raise FeatureError(
            "The 'speaker' feature needs a speaker for every utterance; give the corpus a "
            "speaker column (metadata.csv rows 'id|text|normalized text|speaker')."
        )
    return np.int64(source.speaker_id)


register_feature(
    Feature(
        name="text",
        dtype="int32",
        storage="int64_list",
        axis=TOKENS,
        compute=lambda source, config: np.asarray(source.token_ids, np.int64),
        required=True,
    )
)
register_feature(
    Feature(
        name="mel",
        dtype="float32",
        storage="float16",
        axis=FRAMES,
        dims=lambda config: (config.n_mels,),
        compute=lambda source, config: source.audio.mel,
        required=True,
    )
)
register_feature(
    Feature(
        name="linear",
        dtype="float32",
        storage="float16",
        axis=FRAMES,
        dims=lambda config: (config.n_linear,),
        compute=lambda source, config: source.audio.linear,
    )
)
register_feature(
    Feature(
        name="audio",
        dtype="float32",
        storage="pcm16",
        axis=FRAMES,
        steps_per_frame=lambda config: config.hop_length,
        compute=lambda source, config: source.audio.waveform,
        length_key="audio_length",
    )
)
register_feature(Feature(name="speaker", dtype="int32", storage="int64", compute=_speaker_id))
