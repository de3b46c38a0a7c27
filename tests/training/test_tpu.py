"""Connecting to a TPU or falling back with a reason (ttszoo.training.tpu)."""

import tensorflow as tf

from ttszoo.training import tpu as tpu_module


def test_device_files_are_found_by_pattern(tmp_path):
    (tmp_path / "accel0").touch()
    (tmp_path / "accel1").touch()
    (tmp_path / "other").touch()
    found = tpu_module.tpu_device_files(patterns=(str(tmp_path / "accel*"),))
    assert found == [str(tmp_path / "accel0"), str(tmp_path / "accel1")]


def test_no_device_files_means_not_a_tpu_runtime():
    reason = tpu_module.missing_tpu_reason([], tpu_build="2.20.0")
    assert "no TPU" in reason
    assert "Change runtime type > TPU" in reason


def test_attached_tpu_with_plain_tensorflow_names_the_files_and_the_fix():
    reason = tpu_module.missing_tpu_reason(["/dev/accel0", "/dev/accel1"], tpu_build=None)
    assert "/dev/accel0, /dev/accel1" in reason
    assert tf.__version__ in reason
    assert "--force-reinstall tensorflow-tpu" in reason


def test_overwritten_tpu_kernels_are_recognised_in_the_connection_error():
    error = tf.errors.InvalidArgumentError(
        None, None, "No OpKernel was registered to support Op 'ConfigureDistributedTPU'"
    )
    reason = tpu_module.missing_tpu_reason(["/dev/accel0"], tpu_build="2.20.0", error=error)
    assert reason.startswith("connecting to the TPU failed: InvalidArgumentError")
    assert "replaced its kernels" in reason


def test_fall_back_without_device_files_never_tries_to_connect(monkeypatch):
    tried = []
    monkeypatch.setattr(tpu_module, "tpu_device_files", lambda: [])
    real_make_strategy = tpu_module.make_strategy

    def recording_make_strategy(tpu=None):
        tried.append(tpu)
        return real_make_strategy(tpu)

    monkeypatch.setattr(tpu_module, "make_strategy", recording_make_strategy)
    strategy, reason = tpu_module.connect_tpu_or_fall_back("local")
    assert tried == [None]
    assert strategy is tf.distribute.get_strategy()
    assert "no TPU" in reason


def test_fall_back_after_a_failed_connection_keeps_the_error(monkeypatch):
    monkeypatch.setattr(tpu_module, "tpu_device_files", lambda: ["/dev/accel0"])
    monkeypatch.setattr(tpu_module, "tpu_build_version", lambda: "2.20.0")
    real_make_strategy = tpu_module.make_strategy

    def failing_on_tpu(tpu=None):
        if tpu:
            raise tf.errors.NotFoundError(None, None, "TPU initialization failed: no chips")
        return real_make_strategy()

    monkeypatch.setattr(tpu_module, "make_strategy", failing_on_tpu)
    strategy, reason = tpu_module.connect_tpu_or_fall_back("local")
    assert strategy is tf.distribute.get_strategy()
    assert (
        reason == "connecting to the TPU failed: NotFoundError: TPU initialization failed: no chips"
    )
