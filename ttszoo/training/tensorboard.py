"""TensorBoard summaries through ``tf.summary`` (the implementations live in ``tensorboard``).

TensorFlow >= 2.16 no longer installs the ``tensorboard`` package, and without it
``tf.summary.scalar`` / ``image`` / ``audio`` raise ``TBNotInstalledError``; ttszoo therefore
depends on ``tensorboard`` (docs/install.md). Each writer writes to the default summary writer.
"""

import numpy as np
import tensorflow as tf

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_scalar(name, value, step):
    """Writes one float scalar under ``name``."""
    return tf.summary.scalar(name, float(value), step=step)


def write_image(name, png, step):
    """Writes one image under ``name``; ``png``: encoded PNG bytes (e.g. a matplotlib figure)."""
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("write_image needs PNG bytes (a file starting with the PNG signature).")
    pixels = tf.io.decode_png(png)  # [height, width, channels] uint8
    return tf.summary.image(name, pixels[tf.newaxis], step=step)


def write_audio(name, waveform, sample_rate, step):
    """Writes one mono waveform ``[num_samples]`` under ``name`` as a wav (clipped to [-1, 1])."""
    clipped = np.clip(np.asarray(waveform, np.float32), -1.0, 1.0)
    return tf.summary.audio(
        name, clipped[np.newaxis, :, np.newaxis], int(sample_rate), step=step, encoding="wav"
    )
