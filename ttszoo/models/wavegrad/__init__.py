"""WaveGrad vocoder (Chen et al. 2020): the network and its diffusion training and sampling."""

from ttszoo.models.wavegrad.model import WaveGrad

__all__ = ["WaveGrad"]
