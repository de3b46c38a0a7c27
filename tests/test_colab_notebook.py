"""Runs every cell of examples/colab_tpu.ipynb on the CPU, as a kernel would on Colab.

The install cell is skipped through ``TTSZOO_NOTEBOOK_SKIP_INSTALL=1``: installing ttszoo and
TensorFlow from a package index would take minutes and test pip rather than the notebook (the
wheel is installed and run in tests/test_release.py). The kernel imports this checkout through
``PYTHONPATH``. The corpus is cut to 20 sentences and training to 2 steps; this machine has no
TPU, so the connection cell takes its fallback and must say why.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "colab_tpu.ipynb"


def _outputs_text(cell):
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_notebook_cells_are_valid_and_need_no_package_index():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert 'pip install -q "ttszoo' not in code and "pip install ttszoo" not in code
    assert "TTSZOO_NOTEBOOK_SKIP_INSTALL" in code
    assert 'list_logical_devices("TPU")' in code


@pytest.mark.slow
def test_every_cell_runs_on_the_cpu_with_the_tpu_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("TTSZOO_NOTEBOOK_SKIP_INSTALL", "1")
    monkeypatch.setenv("TTSZOO_NOTEBOOK_SENTENCES", "20")
    monkeypatch.setenv("TTSZOO_NOTEBOOK_STEPS", "2")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells), "a code cell did not run"
    install, _, connect, train, listen = code_cells
    assert "TTSZOO_NOTEBOOK_SKIP_INSTALL=1" in _outputs_text(install)
    connection = _outputs_text(connect)
    assert "TPU devices: []" in connection
    assert "No TPU, so training runs on the CPU. Why: this runtime has no TPU" in connection
    assert "'step': 2" in _outputs_text(train)
    assert (tmp_path / "runs" / "t2m" / "operative_config.gin").is_file()
    assert "s of audio at 16000 Hz" in _outputs_text(listen)
    assert any(
        "audio/wav" in o.get("data", {}) or "text/html" in o.get("data", {}) for o in listen.outputs
    )
