"""Output distributions over audio samples, built on TensorFlow Probability.

``DiscretizedMixtureOfLogistics`` (Salimans et al. 2017, PixelCNN++; van den Oord et al. 2017,
Parallel WaveNet), ``DiscretizedGaussian`` (a discretized Gaussian or Gaussian mixture), the
continuous Gaussian mixture of ClariNet-style WaveNets, and the Keras loss that trains them.
"""

from ttszoo.distributions.discretized_mixture import DiscretizedMixture, split_mixture_parameters
from ttszoo.distributions.gaussian import (
    DiscretizedGaussian,
    gaussian_mixture_from_network_output,
    split_gaussian_parameters,
)
from ttszoo.distributions.logistic_mixture import DiscretizedMixtureOfLogistics
from ttszoo.distributions.losses import DiscretizedMixtureLoss, discretized_mixture_nll

__all__ = [
    "DiscretizedGaussian",
    "DiscretizedMixture",
    "DiscretizedMixtureLoss",
    "DiscretizedMixtureOfLogistics",
    "discretized_mixture_nll",
    "gaussian_mixture_from_network_output",
    "split_gaussian_parameters",
    "split_mixture_parameters",
]
