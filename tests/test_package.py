"""The package itself: backend selection, packaged gin files, the wheel."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import ttszoo

REPO = Path(__file__).resolve().parents[1]


def _python(code, **env):
    environment = {
        k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300
    )


def test_import_selects_tensorflow_backend():
    result = _python("import ttszoo, keras; print(keras.backend.backend())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("tensorflow")


@pytest.mark.parametrize("env", [{"KERAS_BACKEND": "jax"}, {"TF_USE_LEGACY_KERAS": "1"}])
def test_import_refuses_other_backends(env):
    result = _python("import ttszoo", **env)
    assert result.returncode != 0
    assert "BackendError" in result.stderr
    assert "ttszoo needs" in result.stderr


def test_packaged_gin_dir_holds_the_gin_tree():
    gin_dir = Path(ttszoo.gin_search_paths()[0])
    assert gin_dir.is_dir()
    assert any(gin_dir.rglob("*.gin"))


def test_wheel_ships_every_gin_file_and_the_demo_sentences(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("ttszoo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    source_gin = {
        f"ttszoo/gin/{path.relative_to(REPO / 'gin').as_posix()}"
        for path in (REPO / "gin").rglob("*.gin")
    }
    assert source_gin, "the source tree has no gin files"
    assert source_gin <= names, sorted(source_gin - names)
    assert "ttszoo/data/demo_sentences.txt" in names
    assert "ttszoo/data/demo_heldout_sentences.txt" in names
    assert "ttszoo/data/demo_heldout_long_sentences.txt" in names
