"""Any TensorFlow filesystem: preprocessing, the input pipeline, training (checkpoints,
summaries, samples) and synthesis with every folder on TensorFlow's in-memory ``ram://``
filesystem, which stands in for ``gs://`` here (both go through ``tf.io.gfile``)."""

import json
import uuid

import tensorflow as tf
from tiny_models import AUDIO, TINY_GIN

import gin
from ttszoo import Synthesizer
from ttszoo.data import make_dataset, preprocess_corpus
from ttszoo.data.records import read_features_file
from ttszoo.training import complete_steps, parse_gin, train


def _ram_dir(name):
    return f"ram://ttszoo-{uuid.uuid4().hex[:8]}/{name}"


def test_preprocessing_and_the_pipeline_on_ram(demo_corpus_dir):
    records = _ram_dir("records")
    summary = preprocess_corpus(demo_corpus_dir, records, num_workers=1, progress=False)
    assert summary.counts["train"] + summary.counts["validation"] == 12
    assert read_features_file(records)["format_version"]
    shards = tf.io.gfile.glob(f"{records}/train-*.tfrecord")
    assert shards and all(s.startswith("ram://") for s in shards)
    batch = next(iter(make_dataset(records, batch_size=2, features=("text", "mel"))))
    assert batch["text"].shape[0] == 2 and batch["mel"].shape[0] == 2


def test_training_and_synthesis_on_ram():
    records, model_dir = _ram_dir("records"), _ram_dir("run")
    tf.io.gfile.makedirs(records)
    features = {
        "audio_config": AUDIO.to_dict(),
        "tokenizer": {"symbols": "characters", "cleaners": "english", "unknown": "warn"},
    }
    with tf.io.gfile.GFile(f"{records}/features.json", "w") as stream:
        stream.write(json.dumps(features))
    parse_gin([TINY_GIN], ["train.steps = 10", "train.sample_every = 10"])
    logs = train(model_dir=model_dir, records_dir=records)
    assert logs["step"] == 10
    assert complete_steps(f"{model_dir}/checkpoints") == [10]
    for name in ("operative_config.gin", "fingerprint.json", "features.json"):
        assert tf.io.gfile.exists(f"{model_dir}/{name}"), name
    assert tf.io.gfile.glob(f"{model_dir}/train/events.out.tfevents.*")
    assert tf.io.gfile.glob(f"{model_dir}/samples/*/mel.png")

    waveform, sample_rate = Synthesizer.from_model_dirs(model_dir).synthesize("Hello there.")
    assert sample_rate == AUDIO.sample_rate and waveform.ndim == 1 and len(waveform) > 0


def test_gin_files_and_their_includes_on_ram():
    folder = _ram_dir("gin")
    tf.io.gfile.makedirs(f"{folder}/parts")
    with tf.io.gfile.GFile(f"{folder}/parts/steps.gin", "w") as stream:
        stream.write("train.steps = 123\n")
    with tf.io.gfile.GFile(f"{folder}/experiment.gin", "w") as stream:
        stream.write("include 'parts/steps.gin'\ntrain.log_every = 7\n")
    parse_gin([f"{folder}/experiment.gin"], search_paths=[folder])
    assert gin.query_parameter("train.steps") == 123
    assert gin.query_parameter("train.log_every") == 7
    parse_gin(["experiment"], search_paths=[folder])  # a name under a gs:// / ram:// search path
    assert gin.query_parameter("train.steps") == 123
