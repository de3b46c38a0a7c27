"""The release: `python -m build` makes an sdist and a wheel that pass `twine check`, and the
wheel, installed in a fresh virtual environment, runs `ttszoo models` and a tiny training.

Installing TensorFlow into a fresh environment takes minutes and tests pip, not ttszoo, so the
fresh environment borrows this interpreter's installed packages through a ``.pth`` file (its
own site-packages comes first, and the ``.pth`` files of the borrowed folder, such as an
editable ttszoo's, are not processed), and the wheel is installed into it with ``--no-deps``.
``venv --system-site-packages`` would not do: from inside a virtual environment it exposes the
base interpreter's packages, not this environment's. The commands run outside the checkout
without ``PYTHONPATH``, so only the wheel can be imported as ``ttszoo``.
"""

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import ttszoo

REPO = Path(__file__).resolve().parents[1]


def _run(args, cwd, env=None, timeout=600):
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def test_one_version_source():
    setup_text = (REPO / "setup.py").read_text()
    assert "version=_version()" in setup_text and '"ttszoo" / "version.py"' in setup_text
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert f"## {ttszoo.__version__}" in changelog


@pytest.mark.slow
def test_built_wheel_installs_and_trains_in_a_fresh_environment(tmp_path, demo_corpus_dir):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, REPO], cwd=tmp_path)
    (wheel,) = dist.glob("ttszoo-*.whl")
    (sdist,) = dist.glob("ttszoo-*.tar.gz")
    assert wheel.name == f"ttszoo-{ttszoo.__version__}-py3-none-any.whl"
    checked = _run([sys.executable, "-m", "twine", "check", "--strict", wheel, sdist], cwd=tmp_path)
    assert checked.stdout.count("PASSED") == 2

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    fresh_site = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path
    ).stdout.strip()
    Path(fresh_site, "borrowed_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--ignore-installed",
            "--no-index",
            wheel,
        ],
        cwd=tmp_path,
    )

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    where = _run(
        [python, "-c", "import ttszoo; print(ttszoo.__file__, ttszoo.__version__)"], tmp_path, env
    )
    assert where.stdout.startswith(fresh_site) and ttszoo.__version__ in where.stdout

    ttszoo_command = venv / "bin" / "ttszoo"
    models = _run([ttszoo_command, "models"], tmp_path, env).stdout
    assert set(re.findall(r"^(\w+)\s+(?:acoustic|vocoder)", models, re.M)) >= {
        "dctts_text2mel",
        "transformer_tts",
        "wavenet",
        "wavegrad",
    }
    _run(
        [
            ttszoo_command,
            "preprocess",
            f"--corpus_dir={demo_corpus_dir}",
            "--out_dir=records",
            "--gin_file=recipes/dctts/demo_features.gin",
            "--num_workers=1",
        ],
        tmp_path,
        env,
    )
    trained = _run(
        [
            ttszoo_command,
            "train",
            "--model_dir=runs/t2m",
            "--records_dir=records",
            "--steps=2",
            "--gin_file=recipes/dctts/text2mel_demo.gin",
            "--gin_param=BATCH_SIZE = 4",
            "--gin_param=ttszoo.data.make_dataset.num_buckets = 1",
        ],
        tmp_path,
        env,
    )
    assert "Trained runs/t2m to step 2." in trained.stdout
    assert "Open TensorBoard with: tensorboard --logdir runs/t2m" in trained.stderr
    assert (tmp_path / "runs" / "t2m" / "operative_config.gin").is_file()
