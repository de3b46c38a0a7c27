"""Transformer TTS through the real trainer and gin: r schedule, SMA switch, diagonal forcing."""

import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import gin
from ttszoo.training import parse_gin, train
from ttszoo.training.loading import load_trained_model

TINY_BINDINGS = [
    "TransformerTTS.embedding_dim = 8",
    "TransformerTTS.model_dim = 8",
    "TransformerTTS.encoder_prenet_layers = 1",
    "TransformerTTS.encoder_layers = 1",
    "TransformerTTS.encoder_heads = 1",
    "TransformerTTS.decoder_layers = 1",
    "TransformerTTS.decoder_heads = 2",
    "TransformerTTS.key_dim = 4",
    "TransformerTTS.feed_forward_dim = 16",
    "TransformerTTS.decoder_prenet_dim = 8",
    "TransformerTTS.postnet_channels = 8",
    "TransformerTTS.postnet_layers = 2",
    "TransformerTTS.max_frames_per_symbol = 2",
    "MAX_R = 4",
    "BATCH_SIZE = 2",
    "ttszoo.data.make_dataset.num_buckets = 1",
    "ttszoo.data.make_dataset.max_frames = None",
    # Two trace-constant combinations keep the test to two traced steps.
    "REDUCTION_SCHEDULE = [[0, 4], [2, 1]]",
    "SMA_START_STEP = 2",
    "DIAGONAL_STEPS = 2",
    "train.steps = 4",
    "train.jit_compile = False",
    "train.checkpoint_every = 4",
    "train.validate_every = 4",
    "train.validation_steps = 1",
    "train.sample_every = 4",
    "train.log_every = 2",
    "train.verbose = False",
]


class TraceConstantsLog(keras.callbacks.Callback):
    """Records the model's trace constants at every training step (after the schedules ran)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append((batch, self.model.trace_constants()))


def test_demo_recipe_trains_with_changing_r_sma_switch_and_diagonal_forcing(
    demo_records_dir, tmp_path
):
    parse_gin(
        ["recipes/transformer_tts/demo.gin"],
        [f'RECORDS_DIR = "{demo_records_dir}"', *TINY_BINDINGS],
    )
    log = TraceConstantsLog()
    names = ("ReductionFactorCallback", "MonotonicAttentionSwitch", "DiagonalAttentionForcing")
    callbacks = [gin.get_configurable(name)() for name in names]
    logs = train(model_dir=str(tmp_path / "run"), callbacks=[*callbacks, log])
    assert logs["step"] == 4
    assert all(np.isfinite(logs[key]) for key in ("loss", "mel_l1", "stop", "val_loss"))
    seen = {step: constants for step, constants in log.seen}
    assert [seen[step]["reduction_factor"] for step in range(4)] == [4, 4, 1, 1]
    assert [seen[step]["monotonic"] for step in range(4)] == [False, False, True, True]
    assert [seen[step]["diagonal_forcing"] for step in range(4)] == [True, True, False, False]
    assert (tmp_path / "run" / "samples" / "step-000000004" / "alignment.png").exists()

    # Restored from its directory, the model decodes with the last r and the SMA switch on.
    # The loader already applies them, so teacher forcing runs as trained too.
    trained = load_trained_model(tmp_path / "run")
    assert (trained.model.reduction_factor, trained.model.monotonic) == (1, True)
    outputs = trained.model.synthesize(np.array([[5, 6, 7, 1]], np.int32))
    assert int(outputs["mel_length"][0]) <= 2 * 4  # stop token or the length limit
    assert outputs["mel"].shape[2] == 80


@pytest.mark.slow
def test_validation_loss_falls_and_attention_gets_diagonal_on_the_demo_corpus(tmp_path):
    """A few minutes on a free 2-core CPU: 2000 steps of the demo recipe (r 10 -> 5 -> 2 -> 1,
    SMA from step 1000, guided attention throughout).

    The restored model's teacher-forced alignments on the validation utterances must be
    diagonal. The 8000-step runs of docs/transformer_tts.md reach a diagonality of 0.99.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from transformer_tts_robustness import DiagonalityHistory, teacher_forced_probe

    from ttszoo.data import build_demo_corpus, preprocess_corpus
    from ttszoo.evaluation import alignment_report, failure_rates

    corpus = build_demo_corpus(tmp_path / "corpus", progress=False)
    records = tmp_path / "records"
    preprocess_corpus(
        corpus, records, num_workers=1, include=(), validation_fraction=0.1, progress=False
    )
    keras.utils.set_random_seed(0)
    parse_gin(
        ["recipes/transformer_tts/demo.gin"],
        [
            f'RECORDS_DIR = "{records}"',
            "train.jit_compile = False",
            "ttszoo.data.make_dataset.num_buckets = 2",
            "train.steps = 2000",
            "train.sample_every = 0",
        ],
    )
    recipe = [ref.scoped_configurable_fn() for ref in gin.query_parameter("train.callbacks")]
    history = DiagonalityHistory(tmp_path / "diagonality.json", records)
    train(model_dir=str(tmp_path / "sma"), callbacks=[*recipe, history], verbose=False)
    assert history.history[-1]["mel_l1"] < 0.7 * history.history[0]["mel_l1"]
    trained = load_trained_model(tmp_path / "sma")
    assert (trained.model.reduction_factor, trained.model.monotonic) == (1, True)
    alignments, _ = teacher_forced_probe(trained.model, records, count=64)
    rates = failure_rates([alignment_report(alignment) for alignment in alignments])
    assert rates["diagonality"] > 0.9, rates
    assert rates["failed"] < 0.5, rates
