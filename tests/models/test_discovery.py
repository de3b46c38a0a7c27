"""Model families are found by folder: every subpackage of ttszoo.models is imported."""

import pathlib
import sys

import ttszoo.models
from ttszoo.models import list_models
from ttszoo.models.discovery import import_subpackages


def test_every_family_folder_registers_a_model():
    folders = sorted(
        path.name
        for path in pathlib.Path(ttszoo.models.__file__).parent.iterdir()
        if (path / "__init__.py").is_file()
    )
    families = {
        info.cls.__module__.split(".")[2]
        for info in list_models()
        if info.cls.__module__.startswith("ttszoo.models.")
    }
    assert {"dctts", "transformer_tts", "wavegrad", "wavenet"} <= set(folders)
    assert set(folders) <= families


def test_import_subpackages_imports_folders_not_modules(tmp_path, monkeypatch):
    package = tmp_path / "zoo_probe"
    for name in ("beta_family", "alpha_family"):
        (package / name).mkdir(parents=True)
        (package / name / "__init__.py").write_text(
            f"import zoo_probe\nzoo_probe.IMPORTED.append({name!r})\n"
        )
    (package / "__init__.py").write_text("IMPORTED = []\n")
    (package / "helpers.py").write_text("import zoo_probe\nzoo_probe.IMPORTED.append('helpers')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import zoo_probe

    try:
        names = import_subpackages(zoo_probe.__path__, "zoo_probe")
        assert names == ["zoo_probe.alpha_family", "zoo_probe.beta_family"]
        assert zoo_probe.IMPORTED == ["alpha_family", "beta_family"]
    finally:
        for name in [key for key in sys.modules if key.split(".")[0] == "zoo_probe"]:
            del sys.modules[name]
