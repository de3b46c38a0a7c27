"""Preprocessing: records hold the features, bad files are skipped and reported, re-runs are identical."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from ttszoo.audio import AudioConfig, compute_features, load_wav
from ttszoo.data import preprocess_corpus
from ttszoo.data.records import decoder
from ttszoo.text import Tokenizer


def test_records_hold_text_and_features(demo_corpus_dir, demo_records_dir):
    info = json.loads((demo_records_dir / "features.json").read_text())
    assert info["features"] == ["text", "mel", "audio", "linear"]
    assert (
        info["splits"]["train"]["num_utterances"] + info["splits"]["validation"]["num_utterances"]
        == 12
    )
    assert info["splits"]["validation"]["num_utterances"] >= 1
    config = AudioConfig.from_dict(info["audio_config"])
    parse = decoder(config, ("text", "mel", "linear", "audio"))
    first = info["splits"]["train"]["shards"][0]
    example = parse(next(iter(tf.data.TFRecordDataset(str(demo_records_dir / first)))))
    item_id = info["splits"]["train"]["ids"][0]
    text = (
        (demo_corpus_dir / "metadata.csv")
        .read_text()
        .splitlines()[int(item_id[-4:]) - 1]
        .split("|")[2]
    )
    assert example["text"].numpy().tolist() == Tokenizer().encode(text)
    expected = compute_features(
        load_wav(demo_corpus_dir / "wavs" / f"{item_id}.wav", 22050), config
    )
    np.testing.assert_allclose(example["mel"].numpy(), expected.mel, atol=1e-3)  # float16 storage
    np.testing.assert_allclose(example["linear"].numpy(), expected.linear, atol=1e-3)
    np.testing.assert_allclose(example["audio"].numpy(), expected.waveform, atol=1.0 / 32767)
    assert example["audio_length"] == example["mel_length"] * config.hop_length


def test_rerun_writes_identical_records(demo_corpus_dir, demo_records_dir, tmp_path):
    preprocess_corpus(
        demo_corpus_dir, tmp_path, num_workers=2, validation_fraction=0.2, progress=False
    )
    for path in demo_records_dir.iterdir():
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), path.name


def test_bad_files_are_skipped_and_reported(demo_corpus_dir, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(demo_corpus_dir, corpus)
    (corpus / "wavs" / "demo_0002.wav").write_bytes(b"broken")
    soundfile.write(str(corpus / "wavs" / "demo_0003.wav"), np.zeros(22050, np.float32), 22050)
    with open(corpus / "metadata.csv", "a", encoding="utf-8") as rows:
        rows.write("bad row without separators\nghost|a file that is not there\nempty_text|...\n")
    (corpus / "wavs" / "empty_text.wav").write_bytes(
        (corpus / "wavs" / "demo_0001.wav").read_bytes()
    )
    summary = preprocess_corpus(corpus, tmp_path / "records", num_workers=1, progress=False)
    assert sum(summary.counts.values()) == 10
    skipped = "\n".join(map(str, summary.skipped))
    assert len(summary.skipped) == 5
    for expected in (
        "demo_0002.wav: unreadable audio",
        "demo_0003.wav: silent audio",
        "line 13",
        "ghost",
        "empty_text",
    ):
        assert expected in skipped
    info = json.loads((tmp_path / "records" / "features.json").read_text())
    assert len(info["skipped"]) == 5
    assert "skipped 5" in str(summary)


def test_nothing_usable_raises(tmp_path):
    (tmp_path / "wavs").mkdir()
    (tmp_path / "metadata.csv").write_text("a|text\n")
    (tmp_path / "wavs" / "a.wav").write_bytes(b"junk")
    with pytest.raises(ValueError, match="No usable utterance"):
        preprocess_corpus(tmp_path, tmp_path / "out", num_workers=1, progress=False)


def test_workers_run_from_a_script_without_main_guard(demo_corpus_dir, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "from ttszoo.data import preprocess_corpus\n"
        f"summary = preprocess_corpus({str(demo_corpus_dir)!r}, {str(tmp_path / 'out')!r}, num_workers=2, progress=False)\n"
        "print(sum(summary.counts.values()))\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "12"
