"""load_wav / save_wav: mono mix-down, resampling, 16-bit output, and errors naming the file."""

import numpy as np
import pytest
import soundfile

from ttszoo.audio import AudioError, load_wav, save_wav


def _tone(rate, seconds=0.5, frequency=440.0):
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def test_save_then_load_is_16_bit_exact(tmp_path):
    tone = _tone(22050)
    path = save_wav(tmp_path / "sub" / "tone.wav", tone, 22050)
    info = soundfile.info(str(path))
    assert info.subtype == "PCM_16" and info.samplerate == 22050 and info.channels == 1
    loaded = load_wav(path, 22050)
    np.testing.assert_allclose(loaded, tone, atol=1.0 / 32767)


def test_stereo_is_mixed_down(tmp_path):
    left, right = _tone(16000, frequency=300), _tone(16000, frequency=500)
    soundfile.write(
        str(tmp_path / "stereo.wav"), np.stack([left, right], axis=1), 16000, subtype="FLOAT"
    )
    np.testing.assert_allclose(
        load_wav(tmp_path / "stereo.wav", 16000), (left + right) / 2, atol=1e-6
    )


def test_resampling_keeps_frequency(tmp_path):
    soundfile.write(str(tmp_path / "tone.wav"), _tone(16000, seconds=1.0), 16000, subtype="FLOAT")
    waveform = load_wav(tmp_path / "tone.wav", 22050)
    assert abs(len(waveform) - 22050) <= 1
    spectrum = np.abs(np.fft.rfft(waveform))
    assert abs(np.argmax(spectrum) * 22050 / len(waveform) - 440.0) < 2.0


@pytest.mark.parametrize(
    "name, make, problem",
    [
        ("missing.wav", None, "file not found"),
        ("garbage.wav", lambda p: p.write_bytes(b"not audio at all"), "unreadable audio"),
        (
            "empty.wav",
            lambda p: soundfile.write(str(p), np.zeros(0, np.float32), 22050),
            "empty audio",
        ),
        (
            "silent.wav",
            lambda p: soundfile.write(str(p), np.zeros(2205, np.float32), 22050),
            "silent audio",
        ),
        (
            "nan.wav",
            lambda p: soundfile.write(
                str(p), np.full(100, np.nan, np.float32), 22050, subtype="FLOAT"
            ),
            "non-finite",
        ),
    ],
)
def test_bad_files_raise_errors_naming_file_and_problem(tmp_path, name, make, problem):
    path = tmp_path / name
    if make is not None:
        make(path)
    with pytest.raises(AudioError, match=problem) as info:
        load_wav(path, 22050)
    assert name in str(info.value)


def test_save_refuses_non_finite_and_wrong_rank(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        save_wav(tmp_path / "x.wav", np.array([0.0, np.inf]), 22050)
    with pytest.raises(ValueError, match="mono"):
        save_wav(tmp_path / "x.wav", np.zeros((2, 10)), 22050)
