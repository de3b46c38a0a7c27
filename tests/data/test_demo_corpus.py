"""The eSpeak NG demo corpus: offline, LJSpeech format, deterministic, cached."""

import filecmp

import pytest
import soundfile

from ttszoo.data import build_demo_corpus, demo_sentences, held_out_sentences, read_ljspeech

pytest.importorskip("espeakng_loader")


def test_sentences_are_many_varied_and_disjoint_from_held_out():
    sentences = demo_sentences()
    assert len(sentences) >= 300 and len(set(sentences)) == len(sentences)
    assert sum(s.endswith("?") for s in sentences) >= 30
    assert sum(any(c.isdigit() for c in s) for s in sentences) >= 30
    lengths = [len(s.split()) for s in sentences]
    assert min(lengths) <= 5 and max(lengths) >= 12
    assert not set(sentences) & set(held_out_sentences())


def test_corpus_is_ljspeech_format_16_bit_22050(demo_corpus_dir):
    utterances, problems = read_ljspeech(demo_corpus_dir)
    assert problems == [] and len(utterances) == 12
    assert utterances[0].id == "demo_0001"
    assert utterances[0].text == demo_sentences()[0].lower()
    info = soundfile.info(str(utterances[0].wav_path))
    assert (info.samplerate, info.subtype, info.channels) == (22050, "PCM_16", 1)
    assert info.duration > 0.5


def test_rebuild_gives_the_same_bytes_and_cache_is_reused(demo_corpus_dir, tmp_path):
    rebuilt = build_demo_corpus(tmp_path / "again", limit=12, progress=False)
    comparison = filecmp.dircmp(demo_corpus_dir / "wavs", rebuilt / "wavs")
    assert not comparison.left_only and not comparison.right_only
    assert all(
        filecmp.cmp(demo_corpus_dir / "wavs" / n, rebuilt / "wavs" / n, shallow=False)
        for n in comparison.common_files
    )
    assert (demo_corpus_dir / "metadata.csv").read_bytes() == (
        rebuilt / "metadata.csv"
    ).read_bytes()
    stamp = (rebuilt / "wavs" / "demo_0001.wav").stat().st_mtime_ns
    build_demo_corpus(rebuilt, limit=12, progress=False)
    assert (rebuilt / "wavs" / "demo_0001.wav").stat().st_mtime_ns == stamp


def test_large_corpus_rebuilds_byte_for_byte_in_its_own_default_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TTSZOO_CACHE", str(tmp_path / "cache"))
    first = build_demo_corpus(limit=340, size="large", progress=False)
    assert first == tmp_path / "cache" / "demo_corpus_large"
    second = build_demo_corpus(tmp_path / "again", limit=340, size="large", progress=False)
    names = sorted(path.name for path in (first / "wavs").iterdir())
    assert len(names) == 340 and names[-1] == "demo_0340.wav"
    assert all(
        (first / "wavs" / n).read_bytes() == (second / "wavs" / n).read_bytes() for n in names
    )
    rows = (second / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert rows == (first / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert rows[339].split("|")[1] == demo_sentences("large")[339]


def test_bad_limit_raises(tmp_path):
    with pytest.raises(ValueError, match="no sentences"):
        build_demo_corpus(tmp_path, limit=0)
