"""WaveNet vocoder (van den Oord et al. 2016) with discretized mixture outputs."""

from ttszoo.models.wavenet.model import WaveNetVocoder

__all__ = ["WaveNetVocoder"]
