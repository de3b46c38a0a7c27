"""Transformer TTS (Li et al. 2019) with stepwise monotonic attention: model and blocks."""

from ttszoo.models.transformer_tts.model import TransformerTTS

__all__ = ["TransformerTTS"]
