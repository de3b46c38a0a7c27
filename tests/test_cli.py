"""The `ttszoo` command: help, errors a user can act on, models, train, synthesize, export."""

import sys
from pathlib import Path

import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).parent / "training"))
from tiny_models import TINY_GIN, train_tiny_pair, write_features  # noqa: E402

from ttszoo.cli import COMMANDS, main  # noqa: E402


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_code:
        main(["ttszoo", "--help"])
    assert exit_code.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_command_help_explains_every_flag(capsys):
    for name, command in COMMANDS.items():
        with pytest.raises(SystemExit):
            main(["ttszoo", name, "--help"])
        text = capsys.readouterr().out
        for flag in command.new_flags():
            assert f"--{flag}:" in text or f"--[no]{flag}:" in text, (name, flag)


def test_unknown_command_and_missing_flags(capsys):
    assert main(["ttszoo", "trian"]) == 2
    assert "Did you mean 'train'" in capsys.readouterr().err
    assert main(["ttszoo", "synthesize", "--acoustic=x"]) == 2
    assert "--out" in capsys.readouterr().err


def test_models_lists_name_family_and_paper(capsys):
    assert main(["ttszoo", "models"]) == 0
    out = capsys.readouterr().out
    assert "tiny_acoustic" in out and "acoustic" in out and "none (a test model)" in out
    assert main(["ttszoo", "models", "--family=vocoder"]) == 0
    assert "tiny_acoustic" not in capsys.readouterr().out


def _train_on_tiny_records(tmp_path, capsys, *flags):
    """Runs ``ttszoo train`` into tmp_path/run on a tiny records folder; (exit code, stderr)."""
    write_features(tmp_path / "records")
    code = main(
        [
            "ttszoo",
            "train",
            f"--model_dir={tmp_path / 'run'}",
            f"--records_dir={tmp_path / 'records'}",
            *flags,
        ]
    )
    return code, capsys.readouterr().err


def test_gin_typo_names_the_file_and_line(tmp_path, capsys):
    typo = tmp_path / "typo.gin"
    typo.write_text(f"include '{TINY_GIN}'\ntrain.stpes = 3\n")
    code, err = _train_on_tiny_records(tmp_path, capsys, f"--gin_file={typo}")
    assert code == 1 and "stpes" in err and "typo.gin" in err and "line 2" in err
    assert main(["ttszoo", "train", "--model_dir=x", "--gin_file=no/such.gin"]) == 1
    assert "optimization/adam_noam.gin" in capsys.readouterr().err  # lists the packaged files


def test_bad_hyperparameter_is_one_line_without_traceback(tmp_path, capsys):
    code, err = _train_on_tiny_records(
        tmp_path,
        capsys,
        f"--gin_file={TINY_GIN}",
        '--gin_param=get_model.name = "dctts_text2mel"',
        "--gin_param=Text2Mel.d = -1",
        "--steps=1",
    )
    message = [line for line in err.splitlines() if line.startswith("ttszoo train: error:")]
    assert code == 1
    assert message == ["ttszoo train: error: Text2Mel.d must be an int >= 1, got -1."]
    assert "Traceback" not in err and "In call to configurable" not in err
    assert not (tmp_path / "run").exists()  # nothing written before the checks passed


def test_train_synthesize_and_export(tmp_path, capsys):
    acoustic, vocoder = train_tiny_pair(tmp_path)
    # Resuming through the CLI reloads the saved operative config: no gin file needed.
    assert main(["ttszoo", "train", f"--model_dir={acoustic}", "--steps=12"]) == 0
    assert "to step 12" in capsys.readouterr().out
    wav = tmp_path / "hello.wav"
    assert (
        main(
            [
                "ttszoo",
                "synthesize",
                f"--acoustic={acoustic}",
                f"--vocoder={vocoder}",
                "--text=Hello.",
                f"--out={wav}",
            ]
        )
        == 0
    )
    assert wav.is_file()
    lines = tmp_path / "lines.txt"
    lines.write_text("One.\nTwo.\n")
    assert (
        main(
            [
                "ttszoo",
                "synthesize",
                f"--acoustic={acoustic}",
                f"--text_file={lines}",
                f"--out={tmp_path / 'many'}",
                "--griffin_lim_iters=1",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["0001.wav", "0002.wav"]
    assert (
        main(
            [
                "ttszoo",
                "export",
                f"--acoustic={acoustic}",
                f"--vocoder={vocoder}",
                f"--out={tmp_path / 'served'}",
            ]
        )
        == 0
    )
    assert hasattr(tf.saved_model.load(str(tmp_path / "served")), "synthesize")
    assert (
        main(["ttszoo", "synthesize", f"--acoustic={vocoder}", "--text=Hi.", f"--out={wav}"]) == 1
    )
    assert "give an acoustic model" in capsys.readouterr().err
