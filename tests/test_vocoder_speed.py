"""benchmarks/vocoder_speed.py's bookkeeping: each row's own ratio and FLOPs, the alternating
order of the runs, and the FLOP count of ttszoo's WaveGrad (no model is timed here)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import timing  # noqa: E402
from timing import round_order, time_runs, vocoding_speed  # noqa: E402
from vocoder_speed import markdown_table, speed_rows  # noqa: E402
from wavegrad_flops import wavegrad_conv_flops  # noqa: E402

from ttszoo.models import WaveGrad  # noqa: E402

MEDIANS = {
    "ttszoo float32": 2.0,
    "peer float32": 2.5,
    "ttszoo bf16": 1.5,
    "peer bf16": 1.6,
    "ttszoo bf16 with XLA": 2.4,
}


def test_each_row_reports_its_own_ratio_and_its_own_sides_flops():
    rows = {row["run"]: row for row in speed_rows(MEDIANS, {"ttszoo": 60e9, "peer": 65e9}, 6)}
    assert rows["ttszoo float32"]["ratio"] == pytest.approx(2.0 / 2.5)
    assert rows["ttszoo bf16"]["ratio"] == pytest.approx(1.5 / 1.6)
    # The XLA row is divided by the peer's bf16 time with its own median, not the oneDNN ratio.
    assert rows["ttszoo bf16 with XLA"]["ratio"] == pytest.approx(2.4 / 1.6)
    assert rows["peer float32"]["ratio"] is None and rows["peer bf16"]["ratio"] is None
    assert rows["ttszoo bf16"]["gflops"] == pytest.approx(60 * 6 / 1.5)
    assert rows["peer bf16"]["gflops"] == pytest.approx(65 * 6 / 1.6)
    assert list(rows) == list(MEDIANS)


def test_the_table_names_the_peer_run_each_ratio_divides_by():
    lines = markdown_table(speed_rows(MEDIANS, {"ttszoo": 60e9, "peer": 65e9}, 6))
    assert lines[0] == "| run | median s | ratio ttszoo / peer | achieved GFLOP/s |"
    assert "| ttszoo bf16 with XLA | 2.400 | 1.50 of peer bf16 | 150.0 |" in lines
    assert "| peer float32 | 2.500 |  | 156.0 |" in lines


def test_the_order_reverses_every_round():
    names = ["a", "b", "c"]
    assert [round_order(names, i) for i in range(3)] == [names, names[::-1], names]
    positions = {n: round_order(names, 0).index(n) + round_order(names, 1).index(n) for n in names}
    assert set(positions.values()) == {2}


def test_time_runs_warms_up_then_alternates_and_takes_a_self_timed_runs_seconds():
    calls = []

    def run(name, reply=None):
        return lambda: calls.append(name) or reply

    times = time_runs({"a": run("a"), "peer": run("peer", {"seconds": 7.0})}, rounds=2)
    assert calls == ["a", "peer", "a", "peer", "peer", "a"]
    assert times["peer"] == [7.0, 7.0]
    assert len(times["a"]) == 2 and all(0 <= s < 1 for s in times["a"])


def tiny_wavegrad():
    model = WaveGrad(
        upsample_factors=(2, 2),
        upsample_channels=(4, 2),
        upsample_dilations=((1, 2, 1, 2), (1, 2, 1, 2)),
        downsample_channels=(2, 4),
        mel_channels=5,
    )
    model(tf.zeros([1, 16]), tf.zeros([1, 4, 3]), tf.zeros([1]))
    return model


def test_flops_of_a_tiny_wavegrad_by_hand():
    # 4 mel frames of 3 bands, hop 4: 16 samples. Convolution FLOPs = 2 k C_in C_out L.
    audio_conv = 2 * 5 * 1 * 2 * 16
    # DBlock 4 channels, factor 2, at 8 steps: 1x1 residual after downsampling, then 3 convs.
    dblock = 2 * 1 * 2 * 4 * 8 + 2 * 3 * 2 * 4 * 8 + 2 * (2 * 3 * 4 * 4 * 8)
    # FiLMs: 2 channels at 16 steps -> 2 x 2, 4 channels at 8 steps -> 2 x 4.
    films = (2 * 3 * 2 * 2 * 16 + 2 * 3 * 2 * 4 * 16) + (2 * 3 * 4 * 4 * 8 + 2 * 3 * 4 * 8 * 8)
    mel_conv = 2 * 3 * 3 * 5 * 4
    # UBlocks: 1x1 residual before upsampling, then 4 convs at the upsampled rate.
    ublock_0 = 2 * 1 * 5 * 4 * 4 + 2 * 3 * 5 * 4 * 8 + 3 * (2 * 3 * 4 * 4 * 8)
    ublock_1 = 2 * 1 * 4 * 2 * 8 + 2 * 3 * 4 * 2 * 16 + 3 * (2 * 3 * 2 * 2 * 16)
    output_conv = 2 * 3 * 2 * 1 * 16
    expected = audio_conv + dblock + films + mel_conv + ublock_0 + ublock_1 + output_conv
    assert expected == 11848
    assert wavegrad_conv_flops(tiny_wavegrad(), 16) == expected


def graph_conv_flops(model, samples, frames, n_mels):
    """2 x output elements x filter taps x input channels of every convolution TensorFlow runs
    in one traced pass (dilated ones run on space-to-batch tensors of the same size here)."""
    function = tf.function(lambda audio, mel, level: model(audio, mel, level))
    graph = function.get_concrete_function(
        tf.TensorSpec([1, samples]), tf.TensorSpec([1, frames, n_mels]), tf.TensorSpec([1])
    ).graph
    total = 0
    for op in graph.get_operations():
        if op.type == "Conv2D":
            height, width, in_channels, _ = op.inputs[1].shape
            total += 2 * np.prod(op.outputs[0].shape) * height * width * in_channels
    return int(total)


def test_flops_agree_with_the_convolutions_tensorflow_runs():
    model = tiny_wavegrad()
    assert wavegrad_conv_flops(model, 64) == graph_conv_flops(model, 64, 16, 3)


def test_flops_need_whole_frames():
    with pytest.raises(ValueError, match="multiple of the hop"):
        wavegrad_conv_flops(tiny_wavegrad(), 18)


def test_vocoding_speed_counts_the_timed_calls_over_the_audio_they_made(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock["now"])
    seen = set()

    def vocode(mel):
        frames = mel.shape[1]
        audio_seconds = frames * 100 / 1000  # hop 100 at 1 kHz
        clock["now"] += 0.5 * audio_seconds + (0 if frames in seen else 30.0)  # 30 s compile
        seen.add(frames)
        return {"audio": tf.ones([1, frames * 100])}

    mels = [tf.zeros([1, 10, 3]), tf.zeros([1, 30, 3])]
    audios, rate = vocoding_speed(vocode, mels, 1000)
    assert [a.shape for a in audios] == [(1000,), (3000,)]
    assert rate == pytest.approx(0.5)
    seen.clear()
    _, cold = vocoding_speed(vocode, mels, 1000, warm_up=False)
    assert cold == pytest.approx((0.5 * 4 + 60) / 4)
