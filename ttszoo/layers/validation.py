"""Argument and input checks shared by the layers, with messages that name the fix."""

import numpy as np

from ttszoo.errors import InvalidInputError


def check_positive_int(value, name, minimum=1, allow_none=False):
    """Returns ``value`` as an int; raises ``ValueError`` unless it is an int ``>= minimum``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidInputError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def check_channels(tensor, expected, what, layer):
    """Raises ``ValueError`` when the last dimension of ``tensor`` is known and not ``expected``."""
    channels = tensor.shape[-1]
    if channels is not None and channels != expected:
        raise ValueError(
            f"{layer}: {what} has {channels} channels in its last dimension, but the layer was "
            f"built for {expected} (shape {tensor.shape}). Give inputs of the shape it was built "
            "for, or build a new layer."
        )
