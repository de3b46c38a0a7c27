"""Packaged gin files resolve and parse; the strategy function's single-machine choice."""

import pytest

import gin
from ttszoo.training import make_strategy, packaged_gin_files, parse_gin, resolve_gin_file


def test_every_packaged_gin_file_parses():
    names = packaged_gin_files()
    assert {"datasets/ljspeech.gin", "optimization/adam_noam.gin"} <= set(names)
    for name in names:
        parse_gin([name])
    gin.clear_config()


def test_names_resolve_with_or_without_suffix_and_through_search_paths(tmp_path):
    assert resolve_gin_file("optimization/adam_noam").endswith("optimization/adam_noam.gin")
    (tmp_path / "mine.gin").write_text("NoamSchedule.warmup_steps = 7\n")
    assert resolve_gin_file("mine", [str(tmp_path)]) == str(tmp_path / "mine.gin")
    parse_gin(["optimization/adam_noam.gin", "mine"], ["LEARNING_RATE = 0.5"], [str(tmp_path)])
    from ttszoo.training import NoamSchedule

    schedule = gin.get_configurable(NoamSchedule)()
    assert (schedule.peak, schedule.warmup_steps) == (0.5, 7)
    gin.clear_config()
    with pytest.raises(FileNotFoundError, match="Packaged files"):
        resolve_gin_file("optimization/adam_nom")


def test_strategy_on_one_machine(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert make_strategy().num_replicas_in_sync == 1
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        make_strategy()


def test_includes_resolve_without_error_logs(caplog):
    with caplog.at_level("INFO"):
        parse_gin(["recipes/dctts/text2mel_demo.gin"], ['RECORDS_DIR = "/nowhere"'])
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_the_dctts_cpu_hour_recipe_is_the_demo_recipe_with_a_decaying_rate_and_its_own_rho():
    parse_gin(["recipes/dctts/text2mel_cpu_hour.gin"], ['RECORDS_DIR = "/nowhere"'])
    assert gin.query_parameter("train.steps") == 5000
    assert gin.query_parameter("Text2Mel.attention_loss_weight") == 0.1
    # The demo recipe's position prior at the large corpus' 1.04 frames per phoneme, and its
    # dc_tts Adam moments.
    assert gin.query_parameter("Text2Mel.position_rate") == 1.04
    adam = gin.get_configurable("keras.optimizers.Adam")(learning_rate=1e-3)
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (0.5, 0.9, 1e-6)
    schedule = gin.get_configurable("keras.optimizers.schedules.ExponentialDecay")()
    # 2e-3 * 0.5 ** (3000 / 4000), computed by hand: 1.1892e-3.
    assert float(schedule(3000)) == pytest.approx(1.1892e-3, rel=1e-4)
    gin.clear_config()
