"""Log-mel spectrogram distance, computed in-graph with ``tf.signal``.

Used to score noise schedules (Chen et al. 2020, WaveGrad; ivanvovk/WaveGrad scores its grid
with the L1 distance of log-mel spectrograms) and as a cheap vocoder quality proxy.
"""

import tensorflow as tf

from ttszoo.errors import InvalidInputError


def log_mel_spectrogram(
    audio,
    sample_rate,
    n_fft=1024,
    hop_length=256,
    num_mels=80,
    fmin=0.0,
    fmax=None,
    epsilon=1e-5,
):
    """``log(mel(|STFT(audio)|) + epsilon)``.

    Args:
      audio: ``[B, S]`` (or ``[S]``) float waveform.
      sample_rate: sampling rate in Hz.
      n_fft: FFT size and Hann window length.
      hop_length: frame step in samples.
      num_mels: number of mel bands (``tf.signal.linear_to_mel_weight_matrix``, HTK mel scale).
      fmin, fmax: band edges in Hz (``fmax`` defaults to ``sample_rate / 2``).
      epsilon: floor inside the log.

    Returns:
      ``[B, frames, num_mels]`` float32, ``frames = ceil(S / hop_length)`` (the end is padded).
    """
    audio = tf.cast(audio, tf.float32)
    if n_fft > audio.shape[-1]:
        raise InvalidInputError(
            f"n_fft={n_fft} is longer than the audio ({audio.shape[-1]} samples)."
        )
    magnitude = tf.abs(tf.signal.stft(audio, n_fft, hop_length, fft_length=n_fft, pad_end=True))
    weights = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=num_mels,
        num_spectrogram_bins=n_fft // 2 + 1,
        sample_rate=sample_rate,
        lower_edge_hertz=fmin,
        upper_edge_hertz=fmax if fmax is not None else sample_rate / 2.0,
    )
    return tf.math.log(tf.tensordot(magnitude, weights, axes=1) + epsilon)


def log_mel_distance(audio, reference, sample_rate, **mel_kwargs):
    """Mean absolute difference of log-mel spectrograms, per batch item.

    Args:
      audio, reference: ``[B, S]`` waveforms of equal shape.
      sample_rate: sampling rate in Hz.
      **mel_kwargs: passed to ``log_mel_spectrogram``.

    Returns:
      ``[B]`` float32 distances; 0 for identical signals.
    """
    audio = tf.convert_to_tensor(audio)
    reference = tf.convert_to_tensor(reference)
    if audio.shape != reference.shape:
        raise InvalidInputError(
            f"audio and reference must have the same shape, got {audio.shape} and "
            f"{reference.shape}; trim or pad them to one length first."
        )
    difference = log_mel_spectrogram(audio, sample_rate, **mel_kwargs) - log_mel_spectrogram(
        reference, sample_rate, **mel_kwargs
    )
    return tf.reduce_mean(tf.abs(difference), axis=[-2, -1])
