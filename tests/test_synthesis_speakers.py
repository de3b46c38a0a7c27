"""Synthesizer(speaker=...): names and ids reach a speaker-conditioned WaveNet vocoder."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent / "training"))
from tiny_models import AUDIO, T, TinyAcoustic, write_features  # noqa: E402

from ttszoo import Synthesizer  # noqa: E402
from ttszoo.models import WaveNetVocoder, get_model_info  # noqa: E402
from ttszoo.training.loading import TrainedModel  # noqa: E402
from ttszoo.training.model_dir import ModelDirectory  # noqa: E402

SPEAKERS = {"anna": 0, "bob": 1}


def _trained(model, name, directory, speakers=None):
    write_features(directory)
    if speakers is not None:
        features = json.loads((directory / "features.json").read_text())
        (directory / "features.json").write_text(json.dumps({**features, "speakers": speakers}))
    info = json.loads((directory / "features.json").read_text())
    return TrainedModel(
        model=model,
        info=get_model_info(name),
        directory=ModelDirectory(str(directory)),
        step=0,
        audio_config=AUDIO,
        tokenizer_config=info["tokenizer"],
    )


@pytest.fixture(scope="module")
def synthesizer(tmp_path_factory):
    root = tmp_path_factory.mktemp("speakers")
    vocoder = WaveNetVocoder(
        hop_length=AUDIO.hop_length,
        n_mels=AUDIO.n_mels,
        residual_channels=4,
        gate_channels=4,
        skip_channels=4,
        condition_channels=4,
        num_layers=2,
        num_mixtures=1,
        output_distribution="gaussian",
        num_speakers=len(SPEAKERS),
        speaker_channels=2,
    )
    return Synthesizer(
        _trained(TinyAcoustic(), "tiny_acoustic", root / "acoustic"),
        _trained(vocoder, "wavenet", root / "vocoder", SPEAKERS),
    )


def test_speaker_names_and_ids_condition_the_vocoder(synthesizer):
    ids = synthesizer.encode("Hi.")
    mel = synthesizer.acoustic.model.synthesize(ids)["mel"]
    as_bob = synthesizer.vocoder.model.generate(mel, speaker=tf.constant([1]), seed=0)[0]
    waveform, _ = synthesizer.synthesize("Hi.", speaker="bob")
    assert waveform.shape == (T * AUDIO.hop_length,)
    np.testing.assert_allclose(waveform, as_bob, atol=1e-6)
    np.testing.assert_array_equal(synthesizer.synthesize("Hi.", speaker=1)[0], waveform)
    np.testing.assert_array_equal(synthesizer.synthesize("Hi.", speaker="1")[0], waveform)
    assert np.abs(synthesizer.synthesize("Hi.", speaker="anna")[0] - waveform).max() > 1e-4


def test_bad_speakers_name_the_known_ones(synthesizer):
    with pytest.raises(ValueError, match=r"Unknown speaker 'carl'.*anna \(0\), bob \(1\)"):
        synthesizer.synthesize("Hi.", speaker="carl")
    with pytest.raises(ValueError, match="Unknown speaker 2"):
        synthesizer.synthesize("Hi.", speaker=2)
    with pytest.raises(ValueError, match="conditioned on 2 speakers; pass speaker="):
        synthesizer.synthesize("Hi.")
    without_speakers = Synthesizer(synthesizer.acoustic)
    with pytest.raises(ValueError, match="neither model is conditioned on speakers"):
        without_speakers.synthesize("Hi.", speaker="anna")
