"""DCTTS (Tachibana et al. 2017): Text2Mel and SSRN, their blocks, losses and inference."""

from ttszoo.models.dctts.model import SSRN, Text2Mel

__all__ = ["SSRN", "Text2Mel"]
