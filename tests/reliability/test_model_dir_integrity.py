"""Model-directory integrity: every check before the first write, one run per directory, a run
resumable from its directory alone (issue 14, 'Model-directory integrity')."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tree_digest
from tiny_models import TINY_GIN, train_tiny, write_features

from ttszoo.training import parse_gin, train
from ttszoo.training.compatibility import FeaturesMismatchError, VocabularyMismatchError
from ttszoo.training.fingerprint import FingerprintMismatchError
from ttszoo.training.run_lock import (
    ModelDirectoryBusyError,
    ReadOnlyModelDirectoryError,
    model_directory_lock,
)

QUIET = ["train.sample_every = 0", "train.validate_every = 0"]


def _records_with(path, section, **changes):
    """A records folder whose features.json differs from the tiny one in ``section``."""
    write_features(path)
    features = json.loads((path / "features.json").read_text())
    features[section].update(changes)
    (path / "features.json").write_text(json.dumps(features))
    return path


def _train(model_dir, records_dir, params=(), steps=40):
    parse_gin([TINY_GIN], [*QUIET, *params])
    return train(model_dir=str(model_dir), records_dir=records_dir, steps=steps)


def test_other_audio_features_are_refused_before_any_write(trained_pair, fresh_copy, tmp_path):
    run = fresh_copy(trained_pair[0])
    other = _records_with(tmp_path / "other", "audio_config", sample_rate=22050, hop_length=276)
    before = tree_digest(run)
    with pytest.raises(FeaturesMismatchError) as error:
        _train(run, str(other))
    message = str(error.value)
    assert "audio_config.sample_rate: 8000" in message and "22050" in message
    assert "audio_config.hop_length: 32" in message and str(other) in message
    assert tree_digest(run) == before  # features.json not rewritten, nothing else written


def test_other_symbol_set_is_refused_before_any_write(trained_pair, fresh_copy, tmp_path):
    run = fresh_copy(trained_pair[0])
    other = _records_with(tmp_path / "phonemes", "tokenizer", symbols="phonemes")
    before = tree_digest(run)
    with pytest.raises(FeaturesMismatchError, match="tokenizer.symbols: 'characters'"):
        _train(run, str(other))
    assert tree_digest(run) == before


def test_vocabulary_too_small_for_the_records_is_refused(tmp_path):
    # Phoneme records (101 ids) with a recipe built for characters (the tiny model: 40 ids).
    records = _records_with(tmp_path / "phonemes", "tokenizer", symbols="phonemes")
    run = tmp_path / "run"
    with pytest.raises(VocabularyMismatchError) as error:
        _train(run, str(records))
    assert "'phonemes' symbols (101 ids)" in str(error.value)
    assert "vocab_size is 40" in str(error.value) and "VOCAB_SIZE = 101" in str(error.value)
    assert not run.exists()  # a refused fresh run leaves no folder behind


def test_another_model_family_is_refused_before_any_write(trained_pair, fresh_copy):
    run = fresh_copy(trained_pair[0])
    before = tree_digest(run)
    with pytest.raises(FingerprintMismatchError, match="model: 'tiny_acoustic'.*'tiny_vocoder'"):
        _train(run, str(trained_pair[2]), params=['get_model.name = "tiny_vocoder"'])
    assert tree_digest(run) == before


def test_model_dir_alone_resumes_with_the_saved_records_dir(trained_pair, fresh_copy):
    run = fresh_copy(trained_pair[0])
    saved = json.loads((run / "run.json").read_text())
    assert saved == {"records_dir": os.path.abspath(trained_pair[2])}
    seen = []

    def dataset_fn(records_dir, split="train"):
        from tiny_models import synthetic_dataset

        seen.append(records_dir)
        return synthetic_dataset(records_dir, split=split)

    parse_gin([], QUIET, operative_config=(run / "operative_config.gin").read_text())
    logs = train(model_dir=str(run), steps=35, dataset_fn=dataset_fn)
    assert logs["step"] == 35 and seen == [saved["records_dir"]]


def test_a_second_run_on_the_same_directory_is_refused(trained_pair, fresh_copy):
    run = fresh_copy(trained_pair[0])
    before = tree_digest(run)
    with model_directory_lock(run):
        with pytest.raises(ModelDirectoryBusyError, match="Another process is training into"):
            _train(run, str(trained_pair[2]))
    assert tree_digest(run) == before


_HOLD_LOCK = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("run_lock", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with module.model_directory_lock(sys.argv[2]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_killed_run_leaves_no_stuck_lock(tmp_path):
    import ttszoo.training.run_lock as run_lock

    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, run_lock.__file__, str(run)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(Path(run_lock.__file__).parents[2])),
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ModelDirectoryBusyError):
            with model_directory_lock(run):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 10
    while True:  # the kernel releases the lock with the process
        try:
            with model_directory_lock(run):
                break
        except ModelDirectoryBusyError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_read_only_directory_is_refused_with_the_fix(trained_pair, fresh_copy, monkeypatch):
    import ttszoo.training.run_lock as run_lock

    run = fresh_copy(trained_pair[0])
    before = tree_digest(run)
    run.chmod(0o555)
    if os.geteuid() == 0:  # root may write anyway; make the permission check see what a user would
        monkeypatch.setattr(run_lock.os, "access", lambda path, mode: False)
    try:
        with pytest.raises(ReadOnlyModelDirectoryError) as error:
            _train(run, str(trained_pair[2]))
    finally:
        run.chmod(0o755)
    assert str(run) in str(error.value) and "chmod u+w" in str(error.value)
    assert tree_digest(run) == before


def test_resume_to_the_same_features_still_trains(trained_pair, fresh_copy):
    run = fresh_copy(trained_pair[0])
    logs = train_tiny(run, trained_pair[2], params=QUIET, steps=32)
    assert logs["step"] == 32
