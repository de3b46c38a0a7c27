"""Vocos-style vocoder (Siuzdak 2023): ConvNeXt backbone, inverse-STFT head, GAN training."""

from ttszoo.models.vocos.blocks import ConvNeXtBlock, VocosGenerator, istft_same
from ttszoo.models.vocos.model import Vocos

__all__ = ["ConvNeXtBlock", "Vocos", "VocosGenerator", "istft_same"]
