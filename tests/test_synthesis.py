"""Synthesizer and SavedModel export on tiny trained model directories."""

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent / "training"))
from tiny_models import AUDIO, T, train_tiny_pair  # noqa: E402

from ttszoo import Synthesizer  # noqa: E402
from ttszoo.export import export_saved_model  # noqa: E402
from ttszoo.training import ModelDirectoryError  # noqa: E402


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    return train_tiny_pair(tmp_path_factory.mktemp("tiny"))


def test_acoustic_then_vocoder(model_dirs):
    synthesizer = Synthesizer.from_model_dirs(*model_dirs)
    waveform, sample_rate, outputs = synthesizer.synthesize("Hello there.", return_outputs=True)
    assert sample_rate == AUDIO.sample_rate and waveform.shape == (T * AUDIO.hop_length,)
    ids = synthesizer.encode("Hello there.")
    assert ids.shape == (1, len("hello there.") + 1)
    expected = synthesizer.vocoder.model(synthesizer.acoustic.model(ids))[0]
    np.testing.assert_allclose(waveform, expected, atol=1e-6)
    assert synthesizer.acoustic.step == 10 and outputs["alignment"].shape == (1, ids.shape[1], T)


def test_griffin_lim_without_a_vocoder(model_dirs):
    waveform, sample_rate = Synthesizer.from_model_dirs(
        model_dirs[0], griffin_lim_iters=2
    ).synthesize("Hi.")
    assert waveform.shape == (T * AUDIO.hop_length,) and np.all(np.isfinite(waveform))
    assert 0 < np.abs(waveform).max() <= 1.0


def test_text_file_to_folder(model_dirs, tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("First line.\n\nSecond line.\n")
    paths = Synthesizer.from_model_dirs(*model_dirs).synthesize_file(
        lines, tmp_path / "out", progress=False
    )
    assert [Path(p).name for p in paths] == ["0001.wav", "0002.wav"]
    audio, rate = soundfile.read(paths[0])
    assert rate == AUDIO.sample_rate and audio.shape == (T * AUDIO.hop_length,)


def test_wrong_roles_and_untrained_dirs_are_refused(model_dirs, tmp_path):
    with pytest.raises(ValueError, match="vocoder model; give an acoustic model"):
        Synthesizer.from_model_dirs(model_dirs[1])
    with pytest.raises(ValueError, match="acoustic model; give a vocoder"):
        Synthesizer.from_model_dirs(model_dirs[0], vocoder=model_dirs[0])
    with pytest.raises(ModelDirectoryError, match="not a trained model directory"):
        Synthesizer.from_model_dirs(tmp_path)


@pytest.mark.parametrize("with_vocoder", [True, False])
def test_exported_saved_model_reproduces_the_synthesizer(model_dirs, tmp_path, with_vocoder):
    vocoder = model_dirs[1] if with_vocoder else None
    synthesizer = export_saved_model(
        model_dirs[0], tmp_path / "export", vocoder_dir=vocoder, griffin_lim_iters=2
    )
    served = tf.saved_model.load(str(tmp_path / "export"))
    ids = synthesizer.encode("Served speech.")
    np.testing.assert_allclose(
        served.synthesize(ids)["audio"].numpy(),
        synthesizer.synthesize_ids(ids)["audio"].numpy(),
        atol=1e-5,
    )
    assert (tmp_path / "export" / "ttszoo_export.json").is_file()
