"""DCTTS end to end on the demo-corpus slice: gin + trainer for Text2Mel and SSRN, then a wav."""

from pathlib import Path

import numpy as np
import pytest
import soundfile

from ttszoo.data import held_out_sentences
from ttszoo.synthesis import Synthesizer
from ttszoo.training import parse_gin, train
from ttszoo.training.model_dir import ModelDirectory

# The demo slice has 22.05 kHz features: 80 mel bins and n_fft 2048 (1025 linear bins).
COMMON = [
    "BATCH_SIZE = 2",
    "ttszoo.data.make_dataset.num_buckets = 1",
    "train.steps = 2",
    "train.jit_compile = False",
    "train.log_every = 1",
    "train.checkpoint_every = 2",
    "train.validate_every = 0",
    "train.verbose = False",
]
TEXT2MEL = [
    "Text2Mel.e = 8",
    "Text2Mel.d = 8",
    "Text2Mel.max_text_length = 60",
    "Text2Mel.max_decoder_steps = 12",
    "train.sample_every = 0",
]
SSRN = ["SSRN.c = 8", "train.sample_every = 2"]


def train_dir(model_dir, records_dir, gin_file, params):
    parse_gin(
        [gin_file, "datasets/demo.gin", "optimization/adam.gin"],
        COMMON + params,
        operative_config=ModelDirectory(model_dir).operative_config(),
    )
    return train(model_dir=str(model_dir), records_dir=str(records_dir))


@pytest.fixture(scope="module")
def trained_pair(demo_records_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("dctts")
    t2m_logs = train_dir(root / "t2m", demo_records_dir, "models/dctts_text2mel.gin", TEXT2MEL)
    ssrn_logs = train_dir(root / "ssrn", demo_records_dir, "models/dctts_ssrn.gin", SSRN)
    return root, t2m_logs, ssrn_logs


def test_both_models_train_through_gin_and_the_trainer(trained_pair):
    root, t2m_logs, ssrn_logs = trained_pair
    assert t2m_logs["step"] == ssrn_logs["step"] == 2
    for name in ("loss", "mel_l1", "mel_binary_divergence", "guided_attention", "focus_rate"):
        assert np.isfinite(t2m_logs[name])
    assert np.isfinite(ssrn_logs["linear_l1"])
    assert (
        "get_model.name = 'dctts_text2mel'" in (root / "t2m" / "operative_config.gin").read_text()
    )
    # SSRN's sample is a Griffin-Lim wav of its predicted linear spectrogram.
    assert list((root / "ssrn" / "samples").rglob("predicted.wav"))


def test_synthesizer_writes_a_wav_of_a_held_out_sentence_and_refuses_bad_text(trained_pair):
    root, _, _ = trained_pair
    synthesizer = Synthesizer.from_model_dirs(
        str(root / "t2m"), vocoder=str(root / "ssrn"), griffin_lim_iters=2
    )
    sentence = held_out_sentences()[0]
    path = Path(synthesizer.synthesize_to_file(sentence[:50], root / "held_out.wav"))
    waveform, rate = soundfile.read(path)
    assert rate == 22050 and 0 < len(waveform) <= 12 * 4 * 276 + 2048
    assert np.isfinite(waveform).all()
    with pytest.raises(ValueError, match="empty|speakable|nothing"):
        synthesizer.synthesize("")
    with pytest.raises(ValueError, match="speakable|nothing|unknown|Unknown"):
        synthesizer.synthesize("日本語")
    with pytest.raises(ValueError, match="max_text_length=60"):
        synthesizer.synthesize("a long sentence " * 8)
