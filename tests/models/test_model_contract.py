"""The model contract (ttszoo.models.base), checked for every model the package registers.

Each model is built from its gin model file (``gin/models/<name>_small.gin``, else
``<name>.gin``), trains one step on demo-corpus records through the Trainer (as a graph; the
XLA-compiled step, which takes minutes per model on a loaded CPU, is marked slow),
survives a checkpoint round trip through ``load_trained_model`` with every weight restored,
synthesizes or vocodes a tiny input and refuses bad input with a clear error. A new model is
covered by registering it and adding its gin model file.
"""

import numpy as np
import pytest
import tensorflow as tf

import gin
from ttszoo.audio import AudioConfig
from ttszoo.data import make_dataset, preprocess_corpus
from ttszoo.models import AcousticModel, TTSModel, VocoderModel, list_models
from ttszoo.training import Trainer, load_trained_model, make_optimizer, parse_gin
from ttszoo.training.gin_config import resolve_gin_file
from ttszoo.training.model_dir import ModelDirectory

PACKAGE_MODELS = [info for info in list_models() if info.cls.__module__.startswith("ttszoo.")]
DEMO_HOP = AudioConfig().hop_length


def model_gin_file(name):
    """The small gin model file of ``name`` if there is one, else its full one."""
    for candidate in (f"models/{name}_small.gin", f"models/{name}.gin"):
        try:
            return resolve_gin_file(candidate)
        except FileNotFoundError:
            continue
    raise AssertionError(f"Registered model {name!r} has no gin/models/{name}[_small].gin file.")


def macro(name, default):
    """The value of the gin macro ``name`` in the parsed config, or ``default``."""
    try:
        return gin.query_parameter(f"%{name}")
    except ValueError:
        return default


@pytest.fixture(scope="module")
def records_for(demo_corpus_dir, demo_records_dir, tmp_path_factory):
    """``records_for(sample_rate, hop)``: the demo slice preprocessed at that rate and hop."""
    made = {(AudioConfig().sample_rate, DEMO_HOP): demo_records_dir}

    def records(sample_rate, hop_length):
        if (sample_rate, hop_length) not in made:
            out = tmp_path_factory.mktemp(f"records_{sample_rate}_{hop_length}")
            config = AudioConfig(
                sample_rate=sample_rate, hop_length=hop_length, win_length=4 * hop_length
            )
            preprocess_corpus(
                demo_corpus_dir, out, audio_config=config, num_workers=1,
                validation_fraction=0.25, progress=False,
            )  # fmt: skip
            made[(sample_rate, hop_length)] = out
        return made[(sample_rate, hop_length)]

    return records


@pytest.fixture(params=[False, pytest.param(True, marks=pytest.mark.slow)], ids=["graph", "xla"])
def jit_compile(request):
    """The step as a plain graph (seconds) and XLA-compiled (up to minutes per model: slow)."""
    return request.param


@pytest.fixture(params=PACKAGE_MODELS, ids=[info.name for info in PACKAGE_MODELS])
def trained(request, jit_compile, records_for, tmp_path):
    """The model of ``request.param`` after one training step, and its batch."""
    info = request.param
    parse_gin([model_gin_file(info.name)], ["ttszoo.data.make_dataset.num_buckets = 1"])
    records_dir = records_for(
        macro("SAMPLE_RATE", AudioConfig().sample_rate), macro("HOP_LENGTH", DEMO_HOP)
    )
    dataset = gin.get_configurable(make_dataset)(records_dir, split="train", batch_size=2)
    directory = ModelDirectory(str(tmp_path / info.name))
    directory.copy_features(records_dir)
    trainer = Trainer(
        directory.path, tf.distribute.get_strategy(), gin.get_configurable("get_model"),
        make_optimizer, dataset, jit_compile=jit_compile, checkpoint_every=1, log_every=0,
        sample_every=0, validate_every=0, verbose=False,
    )  # fmt: skip
    logs = trainer.fit(1)
    return info, trainer, next(iter(dataset)), logs


def test_model_trains_restores_synthesizes_and_refuses_bad_input(trained, jit_compile):
    info, trainer, batch, logs = trained
    model = trainer.model
    assert isinstance(model, TTSModel) and model.family == info.family
    assert trainer.jit_compile == jit_compile and logs["step"] == 1
    group_losses = {group.loss for group in model.loss_groups()}
    assert group_losses <= set(logs) and all(np.isfinite(logs[name]) for name in group_losses)

    loaded = load_trained_model(trainer.directory.path)
    assert type(loaded.model) is type(model) and loaded.step == 1
    # Keras numbers the layer names of each build, so the weights are paired in build order.
    assert len(loaded.model.weights) == len(model.weights)
    for original, restored in zip(model.weights, loaded.model.weights, strict=True):
        assert restored.path.split("/")[-1] == original.path.split("/")[-1]
        np.testing.assert_array_equal(restored.numpy(), original.numpy(), err_msg=original.path)

    lacking = {key: value for key, value in batch.items() if key != model.features[0]}
    with pytest.raises(ValueError, match=f"lacks \\['{model.features[0]}'\\]"):
        model.check_batch(lacking)
    if isinstance(model, AcousticModel):
        check_acoustic(loaded.model, batch)
    else:
        assert isinstance(model, VocoderModel)
        check_vocoder(loaded.model, batch)


def check_acoustic(model, batch):
    outputs = model.synthesize(batch["text"][:1, :3])
    mel = outputs["mel"]
    assert mel.shape.rank == 3 and mel.shape[0] == 1 and mel.shape[-1] == batch["mel"].shape[-1]
    assert np.all(np.isfinite(mel.numpy()))
    with pytest.raises(ValueError, match=r"\[0, \d+\)"):
        model.synthesize(tf.constant([[3, model.vocab_size]]))
    with pytest.raises(ValueError, match="empty"):
        model.synthesize(tf.zeros([1, 0], tf.int32))


def check_vocoder(model, batch):
    mel = batch["mel"][:1, :4]
    outputs = model.vocode(mel)
    assert set(outputs) & {"audio", "linear"}
    for value in outputs.values():
        assert value.shape[0] == 1 and np.all(np.isfinite(value.numpy()))
    with pytest.raises(ValueError, match="mel"):
        model.vocode(mel[0])
