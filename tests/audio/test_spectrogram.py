"""Features: config derivation, librosa reference, tf.signal agreement, normalisation round trip.

Tolerance of the tf.signal features against librosa: at most 1e-3 absolute on the
normalised [0, 1] scale (0.1 dB), measured about 3e-5 (float32 FFTs in both).
"""

import librosa
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.audio import AudioConfig, compute_features, denormalize_db, normalize_db, tf_spectrogram
from ttszoo.audio import spectrogram as np_spectrogram

TF_TOLERANCE = 1e-3


def _speechlike(rate, seconds=1.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12)) * (
        0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    )
    return (0.2 * voiced + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize(
    "rate, hop, win, n_fft", [(22050, 276, 1102, 2048), (16000, 200, 800, 1024)]
)
def test_sizes_derived_from_milliseconds(rate, hop, win, n_fft):
    config = AudioConfig(sample_rate=rate, frame_shift_ms=12.5, frame_length_ms=50)
    assert (config.hop_length, config.win_length, config.n_fft, config.n_linear) == (
        hop,
        win,
        n_fft,
        n_fft // 2 + 1,
    )


def test_explicit_sizes_override_milliseconds_and_round_trip():
    config = AudioConfig(hop_length=256, win_length=1024, n_fft=1024)
    assert (config.hop_length, config.win_length, config.n_fft) == (256, 1024, 1024)
    assert AudioConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"win_length": 2048, "n_fft": 1024}, "win_length <= n_fft"),
        ({"frame_shift_ms": -1}, "frame_shift_ms"),
        ({"fmax": 20000, "sample_rate": 16000}, "fmax"),
        ({"preemphasis": 1.0}, "preemphasis"),
    ],
)
def test_bad_config_raises(settings, message):
    with pytest.raises(ValueError, match=message):
        AudioConfig(**settings)
    with pytest.raises(ValueError, match="Unknown AudioConfig"):
        AudioConfig.from_dict({"sample_rte": 1})


@pytest.mark.parametrize("rate", [22050, 16000])
def test_numpy_features_match_a_direct_librosa_computation(rate):
    config = AudioConfig(sample_rate=rate)
    waveform = _speechlike(rate)
    emphasised = np.append(waveform[0], waveform[1:] - 0.97 * waveform[:-1])
    stft = np.abs(
        librosa.stft(
            emphasised,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            win_length=config.win_length,
            pad_mode="constant",
        )
    )
    mel = librosa.feature.melspectrogram(S=stft, sr=rate, n_fft=config.n_fft, n_mels=80, power=1.0)
    expected_mel = np.clip((20 * np.log10(np.maximum(1e-5, mel.T)) - 20 + 100) / 100, 1e-8, 1)
    linear, mel_features = np_spectrogram.spectrograms(waveform, config)
    np.testing.assert_allclose(mel_features, expected_mel, atol=1e-5)
    assert linear.shape == (1 + len(waveform) // config.hop_length, config.n_linear)


@pytest.mark.parametrize("rate", [22050, 16000])
def test_tf_signal_features_agree_with_librosa(rate):
    config = AudioConfig(sample_rate=rate)
    waveform = _speechlike(rate, seconds=0.73)
    linear, mel = np_spectrogram.spectrograms(waveform, config)
    tf_linear, tf_mel = tf_spectrogram.spectrograms(tf.constant(waveform[np.newaxis]), config)
    assert tf_linear.shape[1:] == linear.shape and tf_mel.shape[1:] == mel.shape
    assert np.abs(tf_linear[0].numpy() - linear).max() < TF_TOLERANCE
    assert np.abs(tf_mel[0].numpy() - mel).max() < TF_TOLERANCE


def test_tf_features_compile_with_xla():
    config = AudioConfig(sample_rate=16000)
    waveform = _speechlike(16000, seconds=0.3)
    compiled = tf.function(lambda x: tf_spectrogram.spectrograms(x, config)[1], jit_compile=True)
    np.testing.assert_allclose(
        compiled(tf.constant(waveform[None]))[0],
        np_spectrogram.spectrograms(waveform, config)[1],
        atol=TF_TOLERANCE,
    )


def test_normalisation_round_trip_and_range():
    config = AudioConfig()
    amplitude = np.logspace(-3.9, 0.9, 50)  # -78 dB .. 18 dB: inside the [0, 1] window of dc_tts
    normalised = normalize_db(amplitude, config)
    assert normalised.min() >= 0 and normalised.max() <= 1
    np.testing.assert_allclose(denormalize_db(normalised, config), amplitude, rtol=1e-6)
    np.testing.assert_allclose(
        tf_spectrogram.denormalize_db(tf.constant(normalised, tf.float32), config),
        amplitude,
        rtol=1e-4,
    )
    # dc_tts: 20 dB (amplitude 10) maps to 1, -80 dB to 0.
    np.testing.assert_allclose(normalize_db(np.array([10.0, 1e-4]), config), [1.0, 1e-8], atol=1e-7)


def test_compute_features_trims_silence_and_aligns_frames():
    config = AudioConfig(sample_rate=16000)
    speech = _speechlike(16000, seconds=0.5)
    padded = np.concatenate([np.zeros(4000, np.float32), speech, np.zeros(4000, np.float32)])
    features = compute_features(padded, config)
    frames = features.mel.shape[0]
    assert len(features.waveform) == frames * config.hop_length
    assert features.linear.shape == (frames, config.n_linear)
    assert abs(len(features.waveform) - len(speech)) < 3 * config.win_length


def test_griffin_lim_converges_and_keeps_alignment():
    from ttszoo.audio import griffin_lim

    config = AudioConfig(sample_rate=16000, griffin_lim_power=1.0, trim_top_db=None)
    features = compute_features(_speechlike(16000, seconds=0.5), config)
    target = np_spectrogram.magnitude(features.waveform, config)

    def spectral_convergence(iterations):
        waveform = griffin_lim(features.linear, config, iterations=iterations).numpy()
        assert waveform.shape == features.waveform.shape and np.abs(waveform).max() <= 1.0
        rebuilt = np_spectrogram.magnitude(waveform, config)
        return np.linalg.norm(rebuilt - target) / np.linalg.norm(target)

    errors = [spectral_convergence(n) for n in (0, 8, 32)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.25


def test_griffin_lim_batch_and_bad_shape():
    from ttszoo.audio import griffin_lim

    config = AudioConfig(sample_rate=16000)
    batch = np.full((2, 5, config.n_linear), 0.5, np.float32)
    assert griffin_lim(batch, config, iterations=2).shape == (2, 5 * config.hop_length)
    with pytest.raises(ValueError, match="n_fft=1024"):
        griffin_lim(np.zeros((5, 80), np.float32), config)
