"""Speaker ids end to end: speaker column, speaker table, records, batches, WaveNet conditioning."""

import json

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from ttszoo.audio import AudioConfig
from ttszoo.data import build_demo_corpus, make_dataset, preprocess_corpus, read_ljspeech
from ttszoo.data.records import decoder

pytest.importorskip("espeakng_loader")

VOICES = ("en-us", "en-us+f3")


@pytest.fixture(scope="module")
def two_voice_corpus(tmp_path_factory):
    return build_demo_corpus(
        tmp_path_factory.mktemp("speakers"), limit=3, voices=VOICES, progress=False
    )


@pytest.fixture(scope="module")
def two_voice_records(two_voice_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("speaker_records")
    preprocess_corpus(two_voice_corpus, out, num_workers=1, validation_fraction=0.2, progress=False)
    return out


def _voice_of_id(corpus):
    """``{id: voice}`` read straight from metadata.csv's fourth column."""
    rows = (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines()
    return {row.split("|")[0]: row.split("|")[3] for row in rows}


def test_every_voice_speaks_every_sentence_with_its_own_sound(two_voice_corpus):
    utterances, problems = read_ljspeech(two_voice_corpus)
    assert problems == [] and len(utterances) == 6
    assert {u.speaker for u in utterances} == set(VOICES)
    by_voice = {voice: [u for u in utterances if u.speaker == voice] for voice in VOICES}
    assert [u.text for u in by_voice["en-us"]] == [u.text for u in by_voice["en-us+f3"]]
    first, second = (soundfile.read(str(by_voice[v][0].wav_path))[0] for v in VOICES)
    assert first.shape != second.shape or not np.allclose(first, second)


def test_records_and_batches_carry_the_speaker_ids(two_voice_corpus, two_voice_records):
    info = json.loads((two_voice_records / "features.json").read_text())
    assert info["speakers"] == {"en-us": 0, "en-us+f3": 1}
    assert "speaker" in info["features"]
    voice_of = _voice_of_id(two_voice_corpus)
    train = info["splits"]["train"]
    expected = {
        (frames, info["speakers"][voice_of[item]])
        for item, frames in zip(train["ids"], train["mel_lengths"], strict=True)
    }
    parse = decoder(AudioConfig.from_dict(info["audio_config"]), ("speaker",))
    shards = [str(two_voice_records / name) for name in train["shards"]]
    parsed = {
        (int(e["mel_length"]), int(e["speaker"]))
        for e in map(parse, tf.data.TFRecordDataset(shards))
    }
    assert parsed == expected

    dataset = make_dataset(
        two_voice_records,
        batch_size=2,
        features=("mel", "audio", "speaker"),
        num_buckets=1,
        shuffle=False,
        repeat=False,
    )
    assert dataset.element_spec["speaker"].shape == (2,)
    assert dataset.element_spec["speaker"].dtype == tf.int32
    for batch in dataset:
        pairs = zip(batch["mel_length"].numpy(), batch["speaker"].numpy(), strict=True)
        assert {(int(f), int(s)) for f, s in pairs} <= expected


def test_reader_rejects_rows_without_the_speaker_column(tmp_path):
    (tmp_path / "wavs").mkdir()
    for name in ("a", "b", "c"):
        soundfile.write(str(tmp_path / "wavs" / f"{name}.wav"), np.full(100, 0.1), 22050)
    (tmp_path / "metadata.csv").write_text("a|one|one|anna\nb|two|two\nc|three||\n")
    utterances, problems = read_ljspeech(tmp_path)
    assert [(u.id, u.speaker) for u in utterances] == [("a", "anna")]
    assert "line 2: expected 4 '|'-separated fields, found 3" in str(problems[0])
    assert "line 3: empty speaker" in str(problems[1])


def test_wavenet_output_follows_the_speaker_of_the_batch(two_voice_records):
    from ttszoo.models import WaveNetVocoder

    info = json.loads((two_voice_records / "features.json").read_text())
    config = info["audio_config"]
    model = WaveNetVocoder(
        hop_length=config["hop_length"],
        n_mels=config["n_mels"],
        residual_channels=4,
        gate_channels=4,
        skip_channels=4,
        condition_channels=4,
        num_layers=3,
        num_mixtures=2,
        num_speakers=len(info["speakers"]),
        speaker_channels=2,
        segment_frames=2,
    )
    dataset = make_dataset(
        two_voice_records, batch_size=2, features=("mel", "audio", "speaker"), num_buckets=1
    )
    batch = next(iter(dataset))
    frames = 4  # the first frames of each utterance are enough
    batch = dict(
        batch,
        mel=batch["mel"][:, :frames],
        audio=batch["audio"][:, : frames * config["hop_length"]],
        mel_length=tf.minimum(batch["mel_length"], frames),
        audio_length=tf.minimum(batch["audio_length"], frames * config["hop_length"]),
    )
    swapped = dict(batch, speaker=1 - batch["speaker"])
    same = model(batch).numpy()
    np.testing.assert_array_equal(model(batch).numpy(), same)
    assert np.abs(model(swapped).numpy() - same).max() > 1e-4
    losses = model.compute_losses(batch)
    assert np.isfinite(float(losses["loss"]))
    with pytest.raises(ValueError, match="give `speaker`"):
        model.compute_losses({key: value for key, value in batch.items() if key != "speaker"})


def test_corpus_command_speaks_several_voices(tmp_path, capsys):
    from ttszoo.cli import main

    assert (
        main(["ttszoo", "corpus", f"--out={tmp_path}", "--limit=1", "--voices=en-us,en-us+f3"]) == 0
    )
    rows = (tmp_path / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert [row.split("|")[::3] for row in rows] == [
        ["demo_en-us_0001", "en-us"],
        ["demo_en-us-f3_0001", "en-us+f3"],
    ]
    assert main(["ttszoo", "corpus", f"--out={tmp_path}", "--voices=en-us"]) == 1
    assert "two or more different eSpeak NG voice names" in capsys.readouterr().err
