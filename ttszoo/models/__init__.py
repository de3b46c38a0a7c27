"""Registered TTS models and the registry that names them.

Each model family package (``dctts/``, ``transformer_tts/``, ``wavenet/``, ``wavegrad/``)
registers its models with ``@register_model`` when imported. Every subpackage of this folder is
imported below (``import_subpackages``), so a new family folder is registered with no edit
here; ``get_model`` and ``ttszoo models`` see it. Every model subclasses ``AcousticModel`` or
``VocoderModel`` (``base``); docs/architecture.md ("Adding a model") and
docs/model_directory.md describe the contract.
"""

from ttszoo.models.base import AcousticModel, LossGroup, TTSModel, VocoderModel
from ttszoo.models.dctts import SSRN, Text2Mel
from ttszoo.models.discovery import import_subpackages
from ttszoo.models.registry import (
    FAMILIES,
    ModelInfo,
    UnknownModelError,
    get_model,
    get_model_info,
    list_models,
    register_model,
)
from ttszoo.models.transformer_tts import TransformerTTS
from ttszoo.models.wavegrad import WaveGrad
from ttszoo.models.wavenet import WaveNetVocoder

import_subpackages(__path__, __name__)

__all__ = [
    "AcousticModel",
    "FAMILIES",
    "LossGroup",
    "ModelInfo",
    "SSRN",
    "TTSModel",
    "Text2Mel",
    "TransformerTTS",
    "UnknownModelError",
    "VocoderModel",
    "WaveGrad",
    "WaveNetVocoder",
    "get_model",
    "get_model_info",
    "list_models",
    "register_model",
]
