"""Griffin-Lim phase reconstruction in TensorFlow (Griffin and Lim, 1984).

Turns a normalised linear spectrogram (the SSRN output, or ``AudioFeatures.linear``) back into
a waveform: denormalise, raise to ``griffin_lim_power`` (1.5 in dc_tts, which sharpens
harmonics), iterate ``x = istft(M * phase(stft(x)))``, then undo the pre-emphasis with a
truncated-IIR FIR filter. Compiles with XLA; the iteration count is static.
"""

import numpy as np
import tensorflow as tf

from ttszoo.audio import tf_spectrogram
from ttszoo.errors import InvalidInputError

DEEMPHASIS_TAPS = 1024
"""Taps of the FIR that stands in for the de-emphasis IIR ``1 / (1 - a z^-1)``:
``a ** 1024 < 3e-14`` for ``a = 0.97``, so the truncation is far below 16-bit resolution."""


def _istft(spectrum, config):
    window = tf.signal.inverse_stft_window_fn(
        config.hop_length, forward_window_fn=tf.signal.hann_window
    )
    return tf.signal.inverse_stft(
        spectrum,
        frame_length=config.win_length,
        frame_step=config.hop_length,
        fft_length=config.n_fft,
        window_fn=window,
    )


def _stft(waveform, config):
    return tf.signal.stft(
        waveform,
        frame_length=config.win_length,
        frame_step=config.hop_length,
        fft_length=config.n_fft,
        window_fn=tf.signal.hann_window,
    )


def deemphasize(waveform, coefficient):
    """Inverse of pre-emphasis, ``y[t] = x[t] + coefficient * y[t - 1]``, on ``[B, S]`` audio."""
    if coefficient == 0:
        return waveform
    taps = (coefficient ** np.arange(DEEMPHASIS_TAPS, dtype=np.float64))[::-1].astype(np.float32)
    kernel = tf.constant(taps.reshape(-1, 1, 1))
    padded = tf.pad(waveform, [[0, 0], [DEEMPHASIS_TAPS - 1, 0]])[..., tf.newaxis]
    return tf.nn.conv1d(padded, kernel, stride=1, padding="VALID")[..., 0]


def griffin_lim(linear, config, iterations=None, seed=0):
    """Reconstructs audio from a normalised linear spectrogram.

    Args:
      linear: float ``[T, n_fft // 2 + 1]`` or ``[B, T, n_fft // 2 + 1]`` in [0, 1], as made
        by ``spectrogram.compute_features`` with the same ``config``.
      config: the ``AudioConfig`` the spectrogram was computed with.
      iterations: Griffin-Lim iterations (default ``config.griffin_lim_iters``).
      seed: seed of the random initial phase.

    Returns:
      float32 waveform ``[T * hop_length]`` (or ``[B, T * hop_length]``) in [-1, 1].
    """
    linear = tf.convert_to_tensor(linear, tf.float32)
    if linear.shape.rank not in (2, 3) or linear.shape[-1] != config.n_linear:
        raise InvalidInputError(
            f"griffin_lim needs a spectrogram [T, {config.n_linear}] or [B, T, {config.n_linear}] "
            f"for n_fft={config.n_fft}, got shape {linear.shape}."
        )
    single = linear.shape.rank == 2
    if single:
        linear = linear[tf.newaxis]
    iterations = config.griffin_lim_iters if iterations is None else int(iterations)
    target = tf.cast(
        tf_spectrogram.denormalize_db(linear, config) ** config.griffin_lim_power, tf.complex64
    )
    phase = tf.random.stateless_uniform(tf.shape(linear), seed=[seed, 0], maxval=2 * np.pi)
    spectrum = target * tf.exp(tf.complex(tf.zeros_like(phase), phase))
    for _ in range(iterations):
        rebuilt = _stft(_istft(spectrum, config), config)
        spectrum = target * tf.exp(tf.complex(0.0, tf.math.angle(rebuilt)))
    waveform = _istft(spectrum, config)
    # Frame t of the features starts at sample t * hop + offset - n_fft // 2 of the original.
    start = config.n_fft // 2 - (config.n_fft - config.win_length) // 2
    num_samples = tf.shape(linear)[1] * config.hop_length
    waveform = waveform[:, start : start + num_samples]
    waveform = deemphasize(waveform, config.preemphasis)
    peak = tf.reduce_max(tf.abs(waveform), axis=-1, keepdims=True)
    waveform = waveform / tf.maximum(peak, 1.0)
    return waveform[0] if single else waveform
