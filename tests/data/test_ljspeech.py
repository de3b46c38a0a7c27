"""LJSpeech reader: good rows are read, bad rows and missing files are reported and skipped."""

import numpy as np
import pytest
import soundfile
from absl import logging as absl_logging

from ttszoo.data import read_ljspeech


def _corpus(tmp_path, rows, wavs):
    (tmp_path / "wavs").mkdir()
    for name in wavs:
        soundfile.write(
            str(tmp_path / "wavs" / f"{name}.wav"), np.full(100, 0.1, np.float32), 22050
        )
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path


def test_reads_rows_and_prefers_normalized_text(tmp_path):
    corpus = _corpus(tmp_path, ["b|Raw 2|raw two", "a|Only raw", "c|Raw||"[:-1]], ["a", "b", "c"])
    utterances, problems = read_ljspeech(corpus)
    assert problems == []
    assert [(u.id, u.text) for u in utterances] == [
        ("a", "Only raw"),
        ("b", "raw two"),
        ("c", "Raw"),
    ]
    assert utterances[0].wav_path == corpus / "wavs" / "a.wav"


def test_bad_rows_are_reported_by_count_and_name(tmp_path, caplog):
    rows = [
        "good|fine text|fine text",
        "toomany|a|b|c",
        "|no id",
        "empty|",
        "good|again",
        "nowav|text",
    ]
    corpus = _corpus(tmp_path, rows, ["good", "toomany", "empty"])
    with caplog.at_level("WARNING"):
        absl_logging.get_absl_handler()  # absl routes through the standard logging module
        utterances, problems = read_ljspeech(corpus)
    assert [u.id for u in utterances] == ["good"]
    reasons = [str(problem) for problem in problems]
    assert len(reasons) == 5
    assert "metadata.csv line 2: expected 2 or 3" in reasons[0]
    assert "line 3: empty id or text" in reasons[1] and "line 4: empty id or text" in reasons[2]
    assert "duplicate id 'good'" in reasons[3]
    assert reasons[4].startswith("nowav: audio file") and "not found" in reasons[4]
    assert "Skipped 5 of 6 items" in caplog.text


def test_missing_metadata_explains_the_format(tmp_path):
    with pytest.raises(FileNotFoundError, match="id|text|normalized text"):
        read_ljspeech(tmp_path)
