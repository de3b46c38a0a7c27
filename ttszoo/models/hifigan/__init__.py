"""HiFi-GAN vocoder (Kong et al. 2020): generator, MPD and MSD discriminators, GAN training."""

from ttszoo.models.hifigan.blocks import HiFiGANGenerator, HiFiGANResBlock
from ttszoo.models.hifigan.model import HiFiGAN

__all__ = ["HiFiGAN", "HiFiGANGenerator", "HiFiGANResBlock"]
