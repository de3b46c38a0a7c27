"""Synthesizer.synthesize_paragraph: segments in reading order, padded batches, pause lengths."""

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from ttszoo import Synthesizer
from ttszoo.audio import AudioConfig
from ttszoo.models.registry import ModelInfo
from ttszoo.training.loading import TrainedModel

AUDIO = AudioConfig(sample_rate=8000, hop_length=32, win_length=64, n_fft=64, n_mels=4)
TOKENIZER = {"symbols": "characters", "cleaners": "english", "unknown": "warn"}
FRAMES_PER_SYMBOL = 2


def _level(ids):
    """The constant mel value the fake model gives one text (distinct for distinct texts)."""
    return (sum(ids) % 89 + 1) / 100.0


class LengthAwareAcoustic:
    """Gives each text ``2 * symbols`` mel frames of one level, zeros after; records batches."""

    max_text_length = 20

    def __init__(self):
        self.batch_shapes = []

    def synthesize(self, text_ids):
        ids = np.asarray(text_ids)
        self.batch_shapes.append(ids.shape)
        lengths = (ids > 0).sum(axis=1) * FRAMES_PER_SYMBOL
        mel = np.zeros([len(ids), lengths.max() + 3, AUDIO.n_mels], np.float32)  # extra padding
        for row, length in enumerate(lengths):
            mel[row, :length] = _level(ids[row][ids[row] > 0])
        return {"mel": tf.constant(mel), "mel_length": tf.constant(lengths, tf.int32)}


class FrameRepeatingVocoder:
    """Each mel frame's first bin repeated ``hop_length`` times: audio [B, T * hop]."""

    def vocode(self, mel):
        return {"audio": tf.repeat(mel[:, :, 0], AUDIO.hop_length, axis=1)}


def _trained(model, family):
    info = ModelInfo(
        name=f"fake_{family}", cls=type(model), family=family, paper="", description=""
    )
    return TrainedModel(
        model=model,
        info=info,
        directory=None,
        step=0,
        audio_config=AUDIO,
        tokenizer_config=TOKENIZER,
    )


@pytest.fixture()
def synthesizer():
    return Synthesizer(
        _trained(LengthAwareAcoustic(), "acoustic"), _trained(FrameRepeatingVocoder(), "vocoder")
    )


PARAGRAPH = "Hello there. How are you, my old friend, on this fine day?"
# max_text_length = 20 ids (19 characters and the end-of-sequence id): the second sentence is
# split at its commas.
PIECES = [
    ("Hello there.", "sentence"),
    ("How are you,", "clause"),
    ("my old friend,", "clause"),
    ("on this fine day?", "sentence"),
]


def _expected(synthesizer, sentence_pause, clause_pause):
    """The waveform built by hand: each piece's level for 2 * ids * hop samples, then silence."""
    pause = {"sentence": sentence_pause, "clause": clause_pause}
    parts = []
    for index, (text, boundary) in enumerate(PIECES):
        ids = synthesizer.tokenizer.encode(text)
        parts.append(np.full(len(ids) * FRAMES_PER_SYMBOL * AUDIO.hop_length, _level(ids)))
        if index + 1 < len(PIECES):
            parts.append(np.zeros(int(round(pause[boundary] * AUDIO.sample_rate))))
    return np.concatenate(parts).astype(np.float32)


def test_pieces_are_joined_in_order_with_the_pauses(synthesizer):
    waveform, rate, spoken = synthesizer.synthesize_paragraph(PARAGRAPH, return_segments=True)
    assert rate == 8000
    assert [(s.text, s.boundary) for s in spoken] == PIECES
    np.testing.assert_allclose(waveform, _expected(synthesizer, 0.25, 0.1), atol=1e-7)
    # 0.25 s = 2000 samples after the sentence, 0.1 s = 800 after each clause split.
    gaps = [later.start - earlier.stop for earlier, later in zip(spoken, spoken[1:], strict=False)]
    assert gaps == [2000, 800, 800] and spoken[-1].stop == len(waveform)


def test_batches_are_padded_and_batch_size_does_not_change_the_result(synthesizer):
    acoustic = synthesizer.acoustic.model
    batched, _ = synthesizer.synthesize_paragraph(PARAGRAPH, batch_size=2)
    # Sorted by length: (13, 13) ids in one batch, (15, 18) in the other, padded to the longest.
    assert acoustic.batch_shapes == [(2, 13), (2, 18)]
    one_by_one, _ = synthesizer.synthesize_paragraph(PARAGRAPH, batch_size=1)
    assert acoustic.batch_shapes[2:] == [(1, 13), (1, 13), (1, 15), (1, 18)]
    np.testing.assert_array_equal(batched, one_by_one)


def test_pauses_are_configurable(synthesizer):
    waveform, _ = synthesizer.synthesize_paragraph(PARAGRAPH, sentence_pause=0.5, clause_pause=0)
    np.testing.assert_allclose(waveform, _expected(synthesizer, 0.5, 0.0), atol=1e-7)
    whole, _ = synthesizer.synthesize_paragraph(PARAGRAPH, max_symbols=100)
    assert len(synthesizer.segment(PARAGRAPH, max_symbols=100)) == 2
    levels = [_level(synthesizer.tokenizer.encode(s)) for s in ("Hello there.", PARAGRAPH[13:])]
    assert whole[0] == pytest.approx(levels[0]) and whole[-1] == pytest.approx(levels[1])


def test_bad_arguments_are_refused(synthesizer):
    with pytest.raises(ValueError, match="no words to speak"):
        synthesizer.synthesize_paragraph(" ... ")
    with pytest.raises(ValueError, match="Pauses must be >= 0"):
        synthesizer.synthesize_paragraph("Hi.", sentence_pause=-1)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        synthesizer.synthesize_paragraph("Hi.", batch_size=0)


def test_a_trained_tiny_model_and_the_command_line(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent / "training"))
    from tiny_models import train_tiny_pair

    from ttszoo.cli import main

    model_dirs = train_tiny_pair(tmp_path)
    synthesizer = Synthesizer.from_model_dirs(*model_dirs)
    batched, _ = synthesizer.synthesize_paragraph(PARAGRAPH, max_symbols=20, batch_size=4)
    single, _ = synthesizer.synthesize_paragraph(PARAGRAPH, max_symbols=20, batch_size=1)
    np.testing.assert_allclose(batched, single, atol=1e-6)
    one_sentence, _ = synthesizer.synthesize_paragraph("Hello there.")
    np.testing.assert_array_equal(one_sentence, synthesizer.synthesize("Hello there.")[0])

    wav = tmp_path / "paragraph.wav"
    argv = ["ttszoo", "synthesize", f"--acoustic={model_dirs[0]}", f"--vocoder={model_dirs[1]}"]
    assert main([*argv, f"--text={PARAGRAPH}", "--sentence_pause=0.5", f"--out={wav}"]) == 0
    written, rate = soundfile.read(wav, dtype="float32")
    expected, _ = synthesizer.synthesize_paragraph(PARAGRAPH, sentence_pause=0.5)
    assert rate == synthesizer.sample_rate and written.shape == expected.shape
    np.testing.assert_allclose(written, expected, atol=1 / 16000)
