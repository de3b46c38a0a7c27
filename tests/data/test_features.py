"""Feature declarations: a feature added in one place is computed, stored, parsed and padded."""

import json
import os
import sys

import numpy as np
import pytest

from ttszoo.audio import AudioConfig, compute_features, load_wav
from ttszoo.data import features, make_dataset, preprocess_corpus
from ttszoo.data.features import FRAMES, Feature, FeatureSource, get_feature, register_feature

PAD = -1.0


def frame_energy(source, config):
    """Mean square of each frame's ``hop_length`` samples: [T]."""
    frames = source.audio.waveform.reshape(-1, config.hop_length)
    return (frames**2).mean(axis=1)


@pytest.fixture
def energy_and_words():
    """Declares a frame feature (``energy``) and a per-utterance one (``tokens_plus_one``)."""
    register_feature(
        Feature(
            name="energy",
            dtype="float32",
            storage="float16",
            axis=FRAMES,
            compute=frame_energy,
            pad_value=PAD,
        )
    )
    register_feature(
        Feature(
            name="tokens_plus_one",
            dtype="int32",
            storage="int64",
            compute=lambda source, config: np.int64(len(source.token_ids) + 1),
        )
    )
    yield
    features.unregister_feature("energy")
    features.unregister_feature("tokens_plus_one")


def test_built_in_declarations_follow_the_audio_config():
    config = AudioConfig(sample_rate=16000, n_mels=40)
    assert get_feature("mel").shape(config, 7) == (7, 40)
    assert get_feature("linear").shape(config, 7) == (7, 513)  # n_fft 1024 at 16 kHz
    assert get_feature("audio").shape(config, 7) == (7 * 200,)  # hop 200 at 16 kHz
    assert get_feature("text").shape(config, 5) == (5,)
    assert get_feature("speaker").shape(config) == ()
    assert features.required_names() == ("text", "mel")
    assert not any(get_feature(name).required for name in ("linear", "audio", "speaker"))


def test_a_new_feature_is_stored_parsed_and_padded(demo_corpus_dir, tmp_path, energy_and_words):
    out = tmp_path / "records"
    preprocess_corpus(
        demo_corpus_dir,
        out,
        num_workers=1,
        validation_fraction=0.2,
        include=("energy", "tokens_plus_one"),
        progress=False,
    )
    info = json.loads((out / "features.json").read_text())
    assert info["features"] == ["text", "mel", "energy", "tokens_plus_one"]
    config = AudioConfig.from_dict(info["audio_config"])
    expected = {}
    for item_id, frames, tokens in zip(
        info["splits"]["train"]["ids"],
        info["splits"]["train"]["mel_lengths"],
        info["splits"]["train"]["text_lengths"],
        strict=True,
    ):
        waveform = compute_features(
            load_wav(demo_corpus_dir / "wavs" / f"{item_id}.wav", 22050), config
        ).waveform
        energy = np.square(waveform[: frames * config.hop_length].astype(np.float64))
        expected[frames, tokens] = (energy.reshape(frames, -1).mean(1), tokens + 1)

    dataset = make_dataset(
        out,
        batch_size=2,
        features=("energy", "tokens_plus_one"),
        num_buckets=1,
        shuffle=False,
        repeat=False,
    )
    assert dataset.element_spec["energy"].shape.as_list()[0] == 2
    seen = 0
    for batch in dataset:
        assert set(batch) == {"energy", "tokens_plus_one", "text_length", "mel_length", "mel_mask"}
        lengths = zip(batch["mel_length"].numpy(), batch["text_length"].numpy(), strict=True)
        for row, (frames, tokens) in enumerate(lengths):
            energy, plus_one = expected[int(frames), int(tokens)]
            values = batch["energy"][row].numpy()
            np.testing.assert_allclose(values[:frames], energy, rtol=2e-3, atol=1e-7)  # float16
            assert np.all(values[frames:] == PAD)
            assert batch["tokens_plus_one"][row] == plus_one
            assert batch["mel_mask"][row].numpy().sum() == frames
            seen += 1
    assert seen >= 2


def test_a_feature_declared_in_a_module_is_computed_in_worker_processes(
    demo_corpus_dir, tmp_path, monkeypatch
):
    module = tmp_path / "extra_features_for_test.py"
    module.write_text(
        "import numpy as np\n"
        "from ttszoo.data.features import Feature, register_feature\n"
        "register_feature(Feature(name='first_token', dtype='int32', storage='int64',\n"
        "    compute=lambda source, config: np.int64(source.token_ids[0])))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    __import__("extra_features_for_test")
    try:
        out = tmp_path / "records"
        preprocess_corpus(
            demo_corpus_dir, out, num_workers=2, include=("first_token",), progress=False
        )
        batch = next(iter(make_dataset(out, batch_size=2, features=("text", "first_token"))))
        np.testing.assert_array_equal(batch["first_token"], batch["text"][:, 0])
    finally:
        features.unregister_feature("first_token")
        sys.modules.pop("extra_features_for_test")


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="declared already"):
        register_feature(get_feature("mel"))
    with pytest.raises(ValueError, match="Unknown feature 'pitch'; declared features are"):
        get_feature("pitch")
    with pytest.raises(ValueError, match="reserved record key"):
        Feature(name="frames", dtype="int32", storage="int64", compute=None)
    with pytest.raises(ValueError, match="needs axis=None"):
        Feature(name="pitch", dtype="float32", storage="int64", axis=FRAMES, compute=None)
    with pytest.raises(ValueError, match="dtype must be one of"):
        Feature(name="pitch", dtype="float64", storage="float16", axis=FRAMES, compute=None)
    wrong = Feature(
        name="pitch",
        dtype="float32",
        storage="float16",
        axis=FRAMES,
        compute=lambda source, config: np.zeros(3),
    )
    source = FeatureSource(token_ids=[5, 1], audio=None, speaker_id=None)
    with pytest.raises(ValueError, match=r"shape \(3,\), but its declaration gives \(4,\)"):
        wrong.computed(source, AudioConfig(), {"frames": 4, "tokens": 2})


def test_bad_requests_name_the_fix(demo_corpus_dir, demo_records_dir, tmp_path):
    with pytest.raises(ValueError, match="Unknown feature 'pitch'"):
        preprocess_corpus(demo_corpus_dir, tmp_path, include=("pitch",), progress=False)
    with pytest.raises(ValueError, match="no speaker column"):
        preprocess_corpus(demo_corpus_dir, tmp_path, include=("speaker",), progress=False)
    with pytest.raises(ValueError, match="always stored"):
        preprocess_corpus(demo_corpus_dir, tmp_path, include=("mel",), progress=False)
    with pytest.raises(ValueError, match="speaker column"):
        make_dataset(demo_records_dir, features=("mel", "speaker"))
