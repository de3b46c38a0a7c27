"""In-graph spectrogram features with ``tf.signal``, matching ``ttszoo.audio.spectrogram``.

Same conventions as the librosa version: pre-emphasis, centred STFT with ``n_fft // 2`` zeros on
each side, periodic Hann window of ``win_length`` samples centred in the ``n_fft`` frame (placed
at the start instead: the magnitude is the same, only the phase differs), magnitude, the same
Slaney mel bank (computed once with librosa as a constant), dB normalisation into [0, 1].
Everything works on a batch ``[B, S]`` or a single waveform ``[S]`` and compiles with XLA.
"""

import numpy as np
import tensorflow as tf

from ttszoo.audio import spectrogram as np_spectrogram

_LOG10 = float(np.log(10.0))


def preemphasize(waveform, coefficient):
    """``y[..., t] = x[..., t] - coefficient * x[..., t - 1]`` with ``y[..., 0] = x[..., 0]``."""
    if coefficient == 0:
        return waveform
    return tf.concat([waveform[..., :1], waveform[..., 1:] - coefficient * waveform[..., :-1]], -1)


def _stft(waveform, config):
    """Complex STFT ``[..., 1 + S // hop, n_fft // 2 + 1]`` of an already pre-emphasised signal."""
    half = config.n_fft // 2
    offset = (config.n_fft - config.win_length) // 2
    num_samples = tf.shape(waveform)[-1]
    paddings = [[0, 0]] * (waveform.shape.rank - 1) + [[half, half]]
    padded = tf.pad(waveform, paddings)[..., offset:]
    spectrum = tf.signal.stft(
        padded,
        frame_length=config.win_length,
        frame_step=config.hop_length,
        fft_length=config.n_fft,
        window_fn=tf.signal.hann_window,
        pad_end=False,
    )
    return spectrum[..., : 1 + num_samples // config.hop_length, :]


def magnitude(waveform, config):
    """Linear STFT magnitude ``[..., 1 + S // hop_length, n_fft // 2 + 1]`` of ``[..., S]`` audio."""
    waveform = tf.convert_to_tensor(waveform, tf.float32)
    return tf.abs(_stft(preemphasize(waveform, config.preemphasis), config))


def mel_matrix(config):
    """Constant ``[n_fft // 2 + 1, n_mels]`` matrix: ``mel = magnitude @ mel_matrix``."""
    return tf.constant(np_spectrogram.mel_basis(config).T)


def normalize_db(amplitude, config):
    """Amplitude -> [0, 1] exactly as ``spectrogram.normalize_db``."""
    db = 20.0 * tf.math.log(tf.maximum(np_spectrogram.AMPLITUDE_FLOOR, amplitude)) / _LOG10
    normalised = (db - config.ref_db + config.max_db) / config.max_db
    return tf.clip_by_value(normalised, np_spectrogram.NORMALISED_FLOOR, 1.0)


def denormalize_db(normalised, config):
    """[0, 1] -> amplitude, the inverse of ``normalize_db`` inside its range."""
    db = tf.clip_by_value(normalised, 0.0, 1.0) * config.max_db - config.max_db + config.ref_db
    return tf.exp(db / 20.0 * _LOG10)


def spectrograms(waveform, config):
    """Normalised linear ``[..., T, n_linear]`` and mel ``[..., T, n_mels]``, T = 1 + S // hop."""
    linear_magnitude = magnitude(waveform, config)
    mel_magnitude = tf.tensordot(linear_magnitude, mel_matrix(config), axes=1)
    return normalize_db(linear_magnitude, config), normalize_db(mel_magnitude, config)
