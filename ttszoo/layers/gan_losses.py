"""Adversarial and feature-matching losses of GAN vocoders (HiFi-GAN, Vocos).

Each loss takes the outputs of one sub-discriminator (any shape) and returns a float32
scalar; callers sum or average them over sub-discriminators (docs/vocoders_gan.md).

* Least squares (Mao et al. 2017, as in HiFi-GAN, Kong et al. 2020, eq. 1-2):
  discriminator ``mean((1 - D(x))^2) + mean(D(G(s))^2)``, generator ``mean((1 - D(G(s)))^2)``.
* Hinge (Lim and Ye 2017, as in Vocos, Siuzdak 2023, section 3.2):
  discriminator ``mean(relu(1 - D(x))) + mean(relu(1 + D(G(s))))``, generator
  ``mean(relu(1 - D(G(s))))``.
* Feature matching (Larsen et al. 2016; HiFi-GAN eq. 4): the sum over the feature maps of one
  sub-discriminator of ``mean(|f(x) - f(G(s))|)``.
"""

import tensorflow as tf

from ttszoo.errors import InvalidInputError

ADVERSARIAL_LOSSES = ("least_squares", "hinge")


def _float(x):
    return tf.cast(x, tf.float32)


def least_squares_discriminator_loss(real, fake):
    """``mean((1 - real)^2) + mean(fake^2)``: real scores pulled to 1, generated ones to 0."""
    return tf.reduce_mean(tf.square(1.0 - _float(real))) + tf.reduce_mean(tf.square(_float(fake)))


def least_squares_generator_loss(fake):
    """``mean((1 - fake)^2)``: the generator pulls its scores to 1."""
    return tf.reduce_mean(tf.square(1.0 - _float(fake)))


def hinge_discriminator_loss(real, fake):
    """``mean(relu(1 - real)) + mean(relu(1 + fake))``."""
    return tf.reduce_mean(tf.nn.relu(1.0 - _float(real))) + tf.reduce_mean(
        tf.nn.relu(1.0 + _float(fake))
    )


def hinge_generator_loss(fake):
    """``mean(relu(1 - fake))``."""
    return tf.reduce_mean(tf.nn.relu(1.0 - _float(fake)))


def discriminator_loss(kind, real, fake):
    """The discriminator loss ``kind`` (``"least_squares"`` or ``"hinge"``) of one score pair."""
    if kind == "least_squares":
        return least_squares_discriminator_loss(real, fake)
    if kind == "hinge":
        return hinge_discriminator_loss(real, fake)
    raise InvalidInputError(
        f"The adversarial loss must be one of {ADVERSARIAL_LOSSES}, got {kind!r}."
    )


def generator_loss(kind, fake):
    """The generator loss ``kind`` (``"least_squares"`` or ``"hinge"``) of one score tensor."""
    if kind == "least_squares":
        return least_squares_generator_loss(fake)
    if kind == "hinge":
        return hinge_generator_loss(fake)
    raise InvalidInputError(
        f"The adversarial loss must be one of {ADVERSARIAL_LOSSES}, got {kind!r}."
    )


def feature_matching_loss(real_maps, fake_maps):
    """``sum_i mean(|real_maps[i] - fake_maps[i]|)`` over two equal-length lists of tensors."""
    if len(real_maps) != len(fake_maps):
        raise InvalidInputError(
            f"Feature matching needs as many real as generated feature maps, got "
            f"{len(real_maps)} and {len(fake_maps)}."
        )
    return tf.add_n(
        [
            tf.reduce_mean(tf.abs(_float(r) - _float(f)))
            for r, f in zip(real_maps, fake_maps, strict=True)
        ]
    )
