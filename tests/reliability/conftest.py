"""Fixtures of the reliability tests: a tiny trained model pair (trained once per session),
fresh copies of it, and a digest of a folder's files to prove that nothing on disk changed."""

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).parents[1] / "training"
if str(TRAINING) not in sys.path:
    sys.path.insert(0, str(TRAINING))


def tree_digest(path):
    """{relative path: sha256} of every file under ``path`` (``{}`` when it does not exist);
    folders appear with the value ``"dir"``, so an added empty folder counts as a change."""
    root = Path(path)
    if not root.exists():
        return {}
    digest = {}
    for item in sorted(root.rglob("*")):
        key = str(item.relative_to(root))
        digest[key] = "dir" if item.is_dir() else hashlib.sha256(item.read_bytes()).hexdigest()
    return digest


@pytest.fixture(scope="session")
def trained_pair(tmp_path_factory):
    """(acoustic_dir, vocoder_dir, records_dir) of the tiny models, trained 30 steps each with
    checkpoints at 10, 20, 30. Tests must not change them: copy with ``fresh_copy``."""
    from tiny_models import train_tiny

    root = tmp_path_factory.mktemp("trained_pair")
    records = root / "records"
    acoustic, vocoder = root / "acoustic", root / "vocoder"
    train_tiny(acoustic, records, params=["train.sample_every = 0", "train.validate_every = 0"])
    train_tiny(
        vocoder,
        records,
        params=[
            'get_model.name = "tiny_vocoder"',
            "train.sample_every = 0",
            "train.validate_every = 0",
        ],
    )
    import gin

    gin.clear_config()
    return acoustic, vocoder, records


@pytest.fixture
def fresh_copy(tmp_path):
    """``fresh_copy(dir)`` copies a model directory into this test's tmp_path; returns the copy."""

    def copy(source):
        target = tmp_path / f"copy_of_{Path(source).name}"
        shutil.copytree(source, target)
        return target

    return copy
