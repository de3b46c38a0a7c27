"""The robustness benchmark's probes on a tiny untrained Transformer TTS and the demo records, and
its records check."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from transformer_tts_robustness import (  # noqa: E402
    encoder_symbol_probe,
    free_running_probe,
    prepare_records,
    teacher_forced_probe,
    validation_utterances,
)

from ttszoo.evaluation import previous_frame_l1  # noqa: E402
from ttszoo.models.transformer_tts.model import TransformerTTS  # noqa: E402

TINY = dict(
    vocab_size=101, embedding_dim=8, model_dim=8, encoder_prenet_layers=1, encoder_layers=1,
    encoder_heads=2, decoder_layers=1, decoder_heads=2, key_dim=4, feed_forward_dim=16,
    decoder_prenet_dim=8, postnet_channels=8, postnet_layers=2, max_r=2,
    initial_reduction_factor=1, max_frames_per_symbol=2,
)  # fmt: skip


@pytest.fixture(scope="module")
def model():
    return TransformerTTS(**TINY)


def test_teacher_forced_probe_pools_frames_and_reverses_texts(model, demo_records_dir):
    batches = list(validation_utterances(demo_records_dir, 2))
    alignments, l1 = teacher_forced_probe(model, demo_records_dir, 2)
    assert len(alignments) == 2
    lengths = [int(batch["mel_length"][0]) for batch in batches]
    for alignment, batch, length in zip(alignments, batches, lengths, strict=True):
        assert alignment.shape == (int(batch["text_length"][0]), length)  # r = 1: a step a frame
    # The copy's L1 pools frames: the frame-weighted mean of each utterance's own.
    own = [
        previous_frame_l1(b["mel"][:, :t].numpy(), [t], 1, model.go_value)
        for b, t in zip(batches, lengths, strict=True)
    ]
    assert l1["previous_frame"] == pytest.approx(np.average(own, weights=lengths), rel=1e-6)
    # An untrained model's output still depends on its text, so reversing it changes the L1.
    assert l1["text"] > 0 and l1["reversed_text"] != pytest.approx(l1["text"], rel=1e-7)


def test_free_running_probe_of_a_model_that_stops_at_once(model, demo_records_dir):
    bias = np.full((3 * model.max_r,), -20.0, np.float32)
    bias[2::3] = 20.0  # the stop class wins on the first frame
    model.stop_projection.bias.assign(bias)
    result = free_running_probe(model, demo_records_dir, 2)
    lengths = [int(b["mel_length"][0]) for b in list(validation_utterances(demo_records_dir, 2))]
    assert result["utterances"] == 2 and result["stopped"] == 1.0
    assert result["frame_change"] == 0.0  # one frame each
    assert result["length_ratio"] == pytest.approx(np.median([1 / t for t in lengths]))
    assert result["recorded_frame_change"] > 0 and result["dtw_l1_recorded_other"] > 0


def test_encoder_symbol_probe_reports_every_stage(model, demo_records_dir):
    result = encoder_symbol_probe(model, demo_records_dir, count=3)
    assert list(result) == [
        "embedding",
        "majority",
        "prenet",
        "positions_added",
        "block_0",
        "memory",
    ]
    assert all(0.0 <= value <= 1.0 for value in result.values())


def test_records_of_other_symbols_are_refused_with_the_fix(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "features.json").write_text('{"tokenizer": {"symbols": "characters"}}')
    with pytest.raises(SystemExit, match=r"characters, not phonemes.*--symbols characters"):
        prepare_records(tmp_path, "phonemes")


def test_records_of_the_recipes_symbols_are_kept(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "features.json").write_text('{"tokenizer": {"symbols": "phonemes"}}')
    assert prepare_records(tmp_path, "phonemes") == records
    assert sorted(path.name for path in records.iterdir()) == ["features.json"]
