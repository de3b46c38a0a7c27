"""A battery of bad inputs, tried as a new user would, through the `ttszoo` command and the
Python API (issue 14, 'A committed battery').

Every case asserts the exit code or the error type, that the message names the problem (the
file, line, setting or value) and that nothing on disk changed: the digest of every file of
the tiny trained model directories, their records and the case's own files is the same before
and after. The tiny models are trained once per session (conftest.py), so a case takes
milliseconds to a few seconds.
"""

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile
from conftest import tree_digest
from tiny_models import TINY_GIN, write_features

from ttszoo.cli import main
from ttszoo.errors import TTSZooError


@dataclasses.dataclass
class Paths:
    acoustic: Path
    vocoder: Path
    records: Path
    tmp: Path

    def copy(self, source, name):
        target = self.tmp / name
        shutil.copytree(source, target)
        return target


@pytest.fixture
def paths(trained_pair, tmp_path):
    acoustic, vocoder, records = trained_pair
    yield Paths(Path(acoustic), Path(vocoder), Path(records), tmp_path)


def _unchanged(paths, run):
    """Runs ``run()`` and asserts that no file of the trained pair nor of tmp_path changed."""
    folders = (paths.acoustic, paths.vocoder, paths.records, paths.tmp)
    before = [tree_digest(folder) for folder in folders]
    result = run()
    assert [tree_digest(folder) for folder in folders] == before, "a bad input changed files"
    return result


# Setups: each writes the case's input files and returns extra values for the command line.


def _latin1_lines(p):
    path = p.tmp / "lines.txt"
    path.write_bytes("One line.\nCaf\xe9 au lait.\n".encode("latin-1"))
    return {"file": path}


def _empty_lines(p):
    path = p.tmp / "empty.txt"
    path.write_text("\n   \n")
    return {"file": path}


def _other_rate_records(p):
    records = p.tmp / "records_22k"
    write_features(records)
    features = json.loads((records / "features.json").read_text())
    features["audio_config"].update(sample_rate=22050, hop_length=276)
    (records / "features.json").write_text(json.dumps(features))
    return {"records": records, "run": p.copy(p.acoustic, "run")}


def _phoneme_records(p):
    records = p.tmp / "records_phonemes"
    write_features(records)
    features = json.loads((records / "features.json").read_text())
    features["tokenizer"]["symbols"] = "phonemes"
    (records / "features.json").write_text(json.dumps(features))
    return {"records": records, "run": p.copy(p.acoustic, "run")}


def _broken_features(p):
    run = p.copy(p.acoustic, "run")
    (run / "features.json").write_text('{"audio_config": ')
    return {"run": run}


def _no_batch_spec(p):
    run = p.copy(p.acoustic, "run")
    (run / "batch_spec.json").unlink()
    return {"run": run}


def _all_checkpoints_damaged(p):
    run = p.copy(p.acoustic, "run")
    for data in (run / "checkpoints").glob("ckpt-*.data-*"):
        data.write_bytes(data.read_bytes()[:10])
    return {"run": run}


def _vocoder_of_other_rate(p):
    run = p.copy(p.vocoder, "vocoder_16k")
    features = json.loads((run / "features.json").read_text())
    features["audio_config"]["sample_rate"] = 16000
    (run / "features.json").write_text(json.dumps(features))
    return {"run": run}


def _latin1_corpus(p):
    corpus = p.tmp / "corpus"
    (corpus / "wavs").mkdir(parents=True)
    (corpus / "metadata.csv").write_bytes("a|Hello.\nb|Na\xefve text.\n".encode("latin-1"))
    return {"corpus": corpus}


def _typo_gin(p):
    typo = p.tmp / "typo.gin"
    typo.write_text(f"include '{TINY_GIN}'\ntrain.stpes = 3\n")
    return {"file": typo}


def _nothing(p):
    return {}


T = "--gin_param=train.verbose=False"
# (case id, setup, argv template, exit code, substrings the message must hold)
CLI_CASES = [
    ("unknown command", _nothing, ["trian"], 2, ["Unknown command 'trian'", "Did you mean 'train'"]),
    ("train without model_dir", _nothing, ["train", "--steps=3"], 2, ["--model_dir"]),
    ("train steps zero", _nothing, ["train", "--model_dir={tmp}/r", "--steps=0"], 2, ["--steps=0", "0 is not a positive integer"]),
    ("train missing gin file", _nothing, ["train", "--model_dir={tmp}/r", "--gin_file=no/such.gin"], 1, ["'no/such.gin' was not found", "adam_noam.gin"]),
    ("train gin typo names file and line", _typo_gin, ["train", "--model_dir={tmp}/r", "--gin_file={file}"], 1, ["stpes", "typo.gin", "line 2"]),
    ("train bad gin binding syntax", _nothing, ["train", "--model_dir={tmp}/r", f"--gin_file={TINY_GIN}", "--gin_param=train.steps = = 3"], 1, ["train.steps = = 3"]),
    ("train unknown model name", _nothing, ["train", "--model_dir={tmp}/r", f"--gin_file={TINY_GIN}", "--gin_param=get_model.name='tiny_acustic'", T], 1, ["Unknown model 'tiny_acustic'", "Did you mean 'tiny_acoustic'"]),
    ("train no steps anywhere", _nothing, ["train", "--model_dir={tmp}/fresh"], 1, ["No step count", "--steps"]),
    ("train records of another sample rate", _other_rate_records, ["train", "--model_dir={run}", "--records_dir={records}", "--steps=40", T], 1, ["audio_config.sample_rate: 8000", "22050", "records_22k"]),
    ("train records of another symbol set", _phoneme_records, ["train", "--model_dir={run}", "--records_dir={records}", "--steps=40", T], 1, ["tokenizer.symbols: 'characters'", "'phonemes'"]),
    ("train phoneme records with a character recipe", _phoneme_records, ["train", "--model_dir={tmp}/fresh", "--records_dir={records}", f"--gin_file={TINY_GIN}", T], 1, ["'phonemes' symbols (101 ids)", "vocab_size is 40"]),
    ("train a vocoder into an acoustic directory", _nothing, ["train", "--model_dir={acoustic}", "--steps=40", "--gin_param=get_model.name='tiny_vocoder'", T], 1, ["holds a different model", "model: 'tiny_acoustic'", "'tiny_vocoder'"]),
    ("synthesize from a missing directory", _nothing, ["synthesize", "--acoustic={tmp}/nothing", "--text=Hi.", "--out={tmp}/o.wav"], 1, ["nothing is not a trained model directory", "ttszoo train"]),
    ("synthesize with a vocoder as the acoustic model", _nothing, ["synthesize", "--acoustic={vocoder}", "--text=Hi.", "--out={tmp}/o.wav"], 1, ["'tiny_vocoder'", "give an acoustic model"]),
    ("synthesize with an acoustic model as the vocoder", _nothing, ["synthesize", "--acoustic={acoustic}", "--vocoder={acoustic}", "--text=Hi.", "--out={tmp}/o.wav"], 1, ["'tiny_acoustic'", "give a vocoder"]),
    ("synthesize to mp3", _nothing, ["synthesize", "--acoustic={acoustic}", "--text=Hi.", "--out={tmp}/hello.mp3"], 1, ["hello.mp3", ".wav, .flac, .ogg", "'.mp3'"]),
    ("synthesize to a path without extension", _nothing, ["synthesize", "--acoustic={acoustic}", "--text=Hi.", "--out={tmp}/hello"], 1, ["no extension", "hello.wav"]),
    ("synthesize unspeakable text", _nothing, ["synthesize", "--acoustic={acoustic}", "--text=!!! ???", "--out={tmp}/o.wav"], 1, ["'!!! ???' holds no words to speak"]),
    ("synthesize a missing text file", _nothing, ["synthesize", "--acoustic={acoustic}", "--text_file={tmp}/none.txt", "--out={tmp}/many"], 1, ["none.txt not found"]),
    ("synthesize a Latin-1 text file", _latin1_lines, ["synthesize", "--acoustic={acoustic}", "--text_file={file}", "--out={tmp}/many"], 1, ["lines.txt line 2 is not UTF-8", "0xe9", "iconv"]),
    ("synthesize an empty text file", _empty_lines, ["synthesize", "--acoustic={acoustic}", "--text_file={file}", "--out={tmp}/many"], 1, ["empty.txt holds no text"]),
    ("synthesize text and text_file together", _nothing, ["synthesize", "--acoustic={acoustic}", "--text=a", "--text_file=b", "--out=o.wav"], 2, ["text", "text_file"]),
    ("synthesize zero griffin-lim iterations", _nothing, ["synthesize", "--acoustic={acoustic}", "--text=a", "--out=o.wav", "--griffin_lim_iters=0"], 2, ["griffin_lim_iters"]),
    ("synthesize with a broken features.json", _broken_features, ["synthesize", "--acoustic={run}", "--text=Hi.", "--out={tmp}/o.wav"], 1, ["features.json is not valid JSON", "ttszoo check"]),
    ("synthesize without batch_spec.json", _no_batch_spec, ["synthesize", "--acoustic={run}", "--text=Hi.", "--out={tmp}/o.wav"], 1, ["batch_spec.json is missing"]),
    ("synthesize when every checkpoint is damaged", _all_checkpoints_damaged, ["synthesize", "--acoustic={run}", "--text=Hi.", "--out={tmp}/o.wav"], 1, ["Every checkpoint", "steps [10, 20, 30]", "damaged"]),
    ("synthesize with a vocoder of other features", _vocoder_of_other_rate, ["synthesize", "--acoustic={acoustic}", "--vocoder={run}", "--text=Hi.", "--out={tmp}/o.wav"], 1, ["sample_rate: 8000 (acoustic) vs 16000 (vocoder)"]),
    ("export from a missing directory", _nothing, ["export", "--acoustic={tmp}/nothing", "--out={tmp}/served"], 1, ["is not a trained model directory"]),
    ("export a vocoder as the acoustic model", _nothing, ["export", "--acoustic={vocoder}", "--out={tmp}/served"], 1, ["give an acoustic model"]),
    ("check a missing directory", _nothing, ["check", "--model_dir={tmp}/nothing"], 1, ["PROBLEM", "not a folder"]),
    ("models of an unknown family", _nothing, ["models", "--family=singer"], 2, ["--family", "acoustic", "vocoder"]),
    ("preprocess a missing corpus", _nothing, ["preprocess", "--corpus_dir={tmp}/nocorpus", "--out_dir={tmp}/out"], 1, ["metadata.csv not found", "ttszoo corpus"]),
    ("preprocess a Latin-1 metadata.csv", _latin1_corpus, ["preprocess", "--corpus_dir={corpus}", "--out_dir={tmp}/out", "--num_workers=1"], 1, ["metadata.csv line 2 is not UTF-8", "0xef"]),
    ("preprocess zero shards", _nothing, ["preprocess", "--corpus_dir=c", "--out_dir=o", "--num_shards=0"], 2, ["--num_shards"]),
    ("corpus limit zero", _nothing, ["corpus", "--limit=0"], 2, ["--limit"]),
]  # fmt: skip


@pytest.mark.parametrize(
    "setup, argv, code, needles", [case[1:] for case in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_bad_input(paths, capsys, setup, argv, code, needles):
    values = {"acoustic": paths.acoustic, "vocoder": paths.vocoder, "tmp": paths.tmp}
    values.update(setup(paths))
    args = ["ttszoo", *(arg.format(**values) for arg in argv)]
    assert _unchanged(paths, lambda: main(args)) == code
    captured = capsys.readouterr()
    err = captured.err
    for needle in needles:
        assert needle in err + captured.out, (needle, err[-2000:])
    if code == 1 and argv[0] != "check":  # a user error: one message, no traceback
        assert "Traceback" not in err and err.startswith(f"ttszoo {argv[0]}: error: ")


def test_cli_second_train_on_a_locked_directory(paths, capsys):
    from ttszoo.training.run_lock import model_directory_lock

    run = paths.copy(paths.acoustic, "run")
    with model_directory_lock(run):
        code = _unchanged(paths, lambda: main(["ttszoo", "train", f"--model_dir={run}", T]))
    assert code == 1 and f"Another process is training into {run}" in capsys.readouterr().err


# The Python API.


def _tokenizer_unknown_error():
    from ttszoo.text import Tokenizer

    Tokenizer(unknown="error").encode("caf\u2603 time")


def _dctts_ids_outside_the_vocabulary():
    import tensorflow as tf

    from ttszoo.models import Text2Mel

    Text2Mel(vocab_size=40).check_text_ids(tf.constant([[3, 41, 1]]))


def _dctts_text_too_long():
    import tensorflow as tf

    from ttszoo.models import Text2Mel

    Text2Mel(max_text_length=8).check_text_ids(tf.ones([1, 9], tf.int32))


def _transformer_padding_only_row():
    import tensorflow as tf

    from ttszoo.models import TransformerTTS

    TransformerTTS(vocab_size=40).check_text_ids(tf.constant([[5, 6, 1], [0, 0, 0]]))


def _load(path_of):
    def run(p):
        from ttszoo.training import load_trained_model

        load_trained_model(path_of(p))

    return run


def _make_dataset(**kwargs):
    def run(p):
        from ttszoo.data import make_dataset

        make_dataset(kwargs.pop("records", p.records), **kwargs)

    return run


def _synthesizer_text(text):
    def run(p):
        from ttszoo.synthesis import Synthesizer

        Synthesizer.from_model_dirs(p.acoustic).synthesize(text)

    return run


def _get_model():
    from ttszoo.models import get_model

    get_model("dctts_txt2mel")


def _read_features(p):
    from ttszoo.data.records import read_features_file

    read_features_file(p.tmp)


def _save(name):
    def run(p):
        from ttszoo.audio import save_wav

        save_wav(p.tmp / name, np.zeros(100, np.float32), 8000)

    return run


def _nan_audio(p):
    from ttszoo.audio import save_wav

    save_wav(p.tmp / "nan.wav", np.full(100, np.nan, np.float32), 8000)


def _audio_config():
    from ttszoo.audio import AudioConfig

    AudioConfig(sample_rate=0)


def _symbols():
    from ttszoo.text import Tokenizer

    Tokenizer(symbols="klingon")


API_CASES = [
    ("tokenizer unknown symbol set", lambda p: _symbols(), "ValueError", ["'klingon'", "characters"]),
    ("tokenizer unknown character, error policy", lambda p: _tokenizer_unknown_error(), "ValueError", ["'\u2603'", "not in the 'characters' symbol set"]),
    ("audio config sample rate zero", lambda p: _audio_config(), "ValueError", ["sample_rate must be positive, got 0"]),
    ("DCTTS ids outside the vocabulary", lambda p: _dctts_ids_outside_the_vocabulary(), "ValueError", ["[0, 40)", "41"]),
    ("DCTTS text longer than max_text_length", lambda p: _dctts_text_too_long(), "ValueError", ["9 symbols", "max_text_length=8"]),
    ("Transformer TTS row of padding only", lambda p: _transformer_padding_only_row(), "ValueError", ["Rows [1]", "only padding"]),
    ("get_model misspelt", lambda p: _get_model(), "KeyError", ["'dctts_txt2mel'", "Did you mean", "'dctts_text2mel'"]),
    ("load a folder that is not a model", _load(lambda p: p.tmp), "ValueError", ["is not a trained model directory", "operative_config.gin"]),
    ("load with a broken features.json", _load(lambda p: _broken_features(p)["run"]), "ValueError", ["features.json is not valid JSON"]),
    ("make_dataset without records", _make_dataset(records=None), "ValueError", ["--records_dir"]),
    ("make_dataset batch size zero", _make_dataset(batch_size=0), "ValueError", ["batch_size must be a positive integer, got 0"]),
    ("make_dataset batch size negative", _make_dataset(batch_size=-4), "ValueError", ["got -4"]),
    ("records folder without features.json", _read_features, "FileNotFoundError", ["features.json not found", "ttszoo preprocess"]),
    ("synthesize empty text", _synthesizer_text(""), "ValueError", ["'' is empty after cleaning"]),
    ("save audio as mp3", _save("a.mp3"), "ValueError", ["a.mp3", ".wav, .flac, .ogg"]),
    ("save audio with NaN samples", _nan_audio, "ValueError", ["nan.wav", "NaN or inf"]),
]  # fmt: skip


@pytest.mark.parametrize(
    "run, base, needles", [case[1:] for case in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_bad_input(paths, run, base, needles):
    with pytest.raises(TTSZooError) as error:
        _unchanged(paths, lambda: run(paths))
    # user errors keep the built-in base existing callers catch
    assert base in [cls.__name__ for cls in type(error.value).__mro__]
    message = str(error.value)
    for needle in needles:
        assert needle in message, (needle, message)


def test_long_text_warning_quotes_a_short_excerpt(paths):
    from ttszoo.text import Tokenizer, UnknownSymbolWarning

    text = "word " * 4000 + "\u2603"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Tokenizer().encode(text)
    (warning,) = [w for w in caught if issubclass(w.category, UnknownSymbolWarning)]
    message = str(warning.message)
    assert "'\u2603'" in message and "(20001 characters)" in message and len(message) < 200


def test_utf8_byte_order_mark_on_the_first_row(tmp_path):
    from ttszoo.data.ljspeech import read_ljspeech

    (tmp_path / "wavs").mkdir()
    for name in ("first", "second"):
        soundfile.write(str(tmp_path / "wavs" / f"{name}.wav"), np.full(800, 0.1), 8000)
    (tmp_path / "metadata.csv").write_bytes(b"\xef\xbb\xbffirst|One.\nsecond|Two.\n")
    utterances, problems = read_ljspeech(tmp_path)
    assert [u.id for u in utterances] == ["first", "second"] and problems == []


@pytest.mark.parametrize(
    "extension, subtype", [(".wav", "PCM_16"), (".flac", "PCM_16"), (".ogg", "VORBIS")]
)
def test_audio_format_follows_the_extension(tmp_path, extension, subtype):
    from ttszoo.audio import save_wav

    tone = 0.5 * np.sin(np.arange(8000) * 0.05).astype(np.float32)
    path = save_wav(tmp_path / f"tone{extension}", tone, 8000)
    info = soundfile.info(str(path))
    assert info.subtype == subtype and info.samplerate == 8000 and info.frames == 8000
    written, _ = soundfile.read(str(path))
    assert np.max(np.abs(written - tone)) < (1e-3 if subtype == "PCM_16" else 0.1)
