"""The model registry: every trainable model in the zoo, by name.

A model family registers its model class (an ``AcousticModel`` or ``VocoderModel``,
``ttszoo.models.base``) with ``@register_model``; the trainer, the Synthesizer and the
``ttszoo models`` command find it by name. The family comes from the class. Registration also
registers the class with gin (module ``ttszoo.models``), so its constructor arguments are set
from gin files (``Text2Mel.d = 256``), and ``get_model`` -- a gin root -- builds it with those
bindings::

    @register_model("dctts_text2mel", paper="Tachibana et al. 2017, ...",
                    description="Text to reduced mel with guided attention.")
    class Text2Mel(AcousticModel):
        ...

    model = get_model("dctts_text2mel", d=128)   # gin bindings, then the overrides
"""

import dataclasses
import difflib

import gin
from ttszoo.errors import InvalidInputError, TTSZooError
from ttszoo.models.base import FAMILIES, TTSModel, missing_methods


class UnknownModelError(TTSZooError, KeyError):
    """Raised when a model name is not in the registry; the message lists close matches."""

    def __str__(self):
        return str(self.args[0])


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model.

    Attributes:
      name: the registry name, e.g. ``"dctts_text2mel"``.
      cls: the ``TTSModel`` subclass.
      family: ``"acoustic"`` (text ids -> spectrogram, ``synthesize``) or ``"vocoder"``
        (mel -> waveform or linear spectrogram, ``vocode``).
      paper: the paper it implements (authors, year, title or arXiv id).
      description: one line saying what it does.
    """

    name: str
    cls: type
    family: str
    paper: str
    description: str


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(name, *, paper, description, family=None):
    """Class decorator adding a ``TTSModel`` subclass to the registry and to gin.

    ``family`` is the class's (``AcousticModel`` or ``VocoderModel``); when given it must agree.
    Do not also decorate the class with ``@gin.register``: this does it (module
    ``ttszoo.models``, the class name as the configurable name).

    Raises:
      ValueError: on an unknown family, an empty paper/description, a name used twice, a class
        that is not a ``TTSModel`` of a family or that leaves a contract method unimplemented.
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"Model {name!r}: family must be one of {FAMILIES}, got {family!r}.")
    if not paper or not description:
        raise ValueError(
            f"Model {name!r}: give the paper it implements and a one-line description."
        )

    def decorator(cls):
        _check_model_class(name, cls, family)
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(
                f"A model named {name!r} is already registered ({_REGISTRY[name].cls.__qualname__}). "
                "Pick another name."
            )
        _REGISTRY[name] = ModelInfo(name, cls, cls.family, paper, " ".join(description.split()))
        gin.register(cls, module="ttszoo.models")
        cls.registry_name = name
        return cls

    return decorator


def _check_model_class(name, cls, family):
    if not (isinstance(cls, type) and issubclass(cls, TTSModel)) or cls.family not in FAMILIES:
        raise ValueError(
            f"Model {name!r}: {getattr(cls, '__qualname__', cls)!r} must subclass "
            "ttszoo.models.AcousticModel or VocoderModel (docs/model_directory.md)."
        )
    if family is not None and family != cls.family:
        raise ValueError(
            f"Model {name!r}: registered as {family!r} but {cls.__qualname__} is a {cls.family} "
            "model; drop the family argument (the class sets it)."
        )
    missing = missing_methods(cls)
    if missing:
        raise ValueError(
            f"Model {name!r}: {cls.__qualname__} must implement {missing} ({cls.family} models)."
        )


def get_model_info(name):
    """Returns the ``ModelInfo`` of ``name``; raises ``UnknownModelError`` naming close matches."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    known = ", ".join(sorted(_REGISTRY)) or "none registered"
    raise UnknownModelError(
        f"Unknown model {name!r}.{hint} Registered models: {known}. "
        "Run `ttszoo models` to see them with their papers."
    )


@gin.configurable(module="ttszoo.models")
def get_model(name=gin.REQUIRED, **overrides):
    """Builds the registered model ``name`` (a gin root: ``get_model.name = "..."``).

    The constructor receives the gin bindings of the model class, then ``overrides``.

    Returns:
      The (unbuilt) ``TTSModel``.
    """
    info = get_model_info(name)
    return gin.get_configurable(info.cls)(**overrides)


def list_models(family=None):
    """Returns the registered models' ``ModelInfo``, sorted by name, optionally of one family."""
    if family is not None and family not in FAMILIES:
        raise InvalidInputError(f"family must be one of {FAMILIES} or None, got {family!r}.")
    return [
        info for _, info in sorted(_REGISTRY.items()) if family is None or info.family == family
    ]
