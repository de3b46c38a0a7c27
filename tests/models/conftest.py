"""Fixtures of the model tests: demo-corpus records with a hop that WaveGrad's factors reach."""

import pytest

# 16 kHz, hop 200 = 5 * 5 * 2 * 2 * 2 (the conftest's demo records have hop 276 = 2*2*3*23).
WAVEGRAD_AUDIO = {"sample_rate": 16000, "hop_length": 200, "win_length": 800, "n_fft": 1024}


@pytest.fixture(scope="session")
def wavegrad_records_dir(demo_corpus_dir, tmp_path_factory):
    """The 12-utterance demo slice preprocessed at 16 kHz with hop 200 (mel and audio)."""
    from ttszoo.audio import AudioConfig
    from ttszoo.data import preprocess_corpus

    out = tmp_path_factory.mktemp("wavegrad_records")
    preprocess_corpus(
        demo_corpus_dir,
        out,
        audio_config=AudioConfig(**WAVEGRAD_AUDIO),
        num_workers=1,
        validation_fraction=0.25,
        include=("audio",),
        progress=False,
    )
    return out
