"""The trainer on the tiny model: gin run, summaries, samples, resume, fingerprint refusal,
callbacks that retrace the step, mixed precision, input checks."""

import keras
import pytest
import tensorflow as tf
from tiny_models import synthetic_dataset, train_tiny

from ttszoo.models import get_model
from ttszoo.training import FingerprintMismatchError, Trainer, complete_steps, make_optimizer


def read_events(directory):
    """Returns ``[(step, tag, plugin, value)]`` of every summary in a TensorBoard folder."""
    records = []
    for path in sorted(tf.io.gfile.glob(f"{directory}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                records.append(
                    (
                        event.step,
                        value.tag,
                        value.metadata.plugin_data.plugin_name,
                        tf.make_ndarray(value.tensor),
                    )
                )
    return records


def test_gin_run_trains_summarises_resumes_and_refuses_another_model(tmp_path):
    model_dir, records = tmp_path / "run", tmp_path / "records"
    logs = train_tiny(model_dir, records)
    assert logs["step"] == 30 and "val_loss" in logs
    assert complete_steps(str(model_dir / "checkpoints")) == [10, 20, 30]
    for name in ("operative_config.gin", "fingerprint.json", "features.json", "batch_spec.json"):
        assert (model_dir / name).is_file(), name
    assert "get_model.name = 'tiny_acoustic'" in (model_dir / "operative_config.gin").read_text()
    assert sorted(p.name for p in (model_dir / "samples" / "step-000000015").iterdir()) == [
        "alignment.png",
        "mel.png",
    ]

    train_events = read_events(model_dir / "train")
    losses = {step: float(value) for step, tag, plugin, value in train_events if tag == "loss"}
    assert sorted(losses) == [5, 10, 15, 20, 25, 30]
    assert losses[30] < 0.5 * losses[5]
    tags = {(tag, plugin) for _, tag, plugin, _ in train_events}
    assert {
        ("learning_rate", "scalars"),
        ("steps_per_second", "scalars"),
        ("samples/mel", "images"),
    } <= tags
    image = next(value for _, tag, _, value in train_events if tag == "samples/alignment")
    assert image[2].startswith(b"\x89PNG") and int(image[0]) > 0
    assert {step for step, tag, _, _ in read_events(model_dir / "validation") if tag == "loss"} == {
        10,
        20,
        30,
    }

    # The same model directory resumes: the step continues from the last checkpoint.
    logs = train_tiny(model_dir, records, params=["train.steps = 40"])
    assert logs["step"] == 40
    assert complete_steps(str(model_dir / "checkpoints")) == [20, 30, 40]
    assert max(step for step, tag, _, _ in read_events(model_dir / "train") if tag == "loss") == 40

    # Another model in the same directory is refused, naming the setting, and nothing is touched.
    config_before = (model_dir / "operative_config.gin").read_text()
    with pytest.raises(
        FingerprintMismatchError, match=r"hyperparameters\.hidden: 8 in the model directory, 16 now"
    ):
        train_tiny(model_dir, records, params=["TinyAcoustic.hidden = 16", "train.steps = 50"])
    assert (model_dir / "operative_config.gin").read_text() == config_before
    assert complete_steps(str(model_dir / "checkpoints")) == [20, 30, 40]


class HalveResolutionAt(keras.callbacks.Callback):
    """Sets the model's reduction factor (a trace constant) to 2 from step ``at`` on."""

    def __init__(self, at):
        super().__init__()
        self.at = at
        self.begun = []

    def on_train_batch_begin(self, batch, logs=None):
        self.begun.append(batch)
        if batch >= self.at:
            self.model.reduction_factor = 2


def _trainer(tmp_path, validation_dataset=None, **kwargs):
    return Trainer(
        str(tmp_path / "run"),
        tf.distribute.get_strategy(),
        lambda: get_model("tiny_acoustic"),
        make_optimizer,
        synthetic_dataset(None),
        validation_dataset,
        log_every=0,
        checkpoint_every=0,
        sample_every=0,
        verbose=False,
        **kwargs,
    )


def test_callback_changing_a_trace_constant_retraces_the_step(tmp_path):
    callback = HalveResolutionAt(at=4)
    trainer = _trainer(tmp_path, callbacks=[callback], steps_per_execution=2)
    trainer.fit(8)
    assert callback.begun == [0, 2, 4, 6]  # the global step before each execution
    assert int(trainer.optimizer.iterations) == 8
    # Traced once at build (r=1), once for r=1 and once more after the callback set r=2.
    assert (
        trainer.model.traced_reduction_factors[-1] == 2
        and 1 in trainer.model.traced_reduction_factors
    )
    assert len(trainer._train_functions) == 2


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_with_float32_weights(tmp_path, precision):
    before = keras.config.dtype_policy().name
    trainer = _trainer(tmp_path, precision=precision)
    logs = trainer.fit(3)
    assert keras.config.dtype_policy().name == before
    assert trainer.model.dtype_policy.name == precision
    assert all(w.dtype == "float32" for w in trainer.model.weights)
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer) == (
        precision == "mixed_float16"
    )
    assert logs["step"] == 3 and 0 < logs["loss"] < 1


def test_datasets_without_a_static_batch_are_refused(tmp_path):
    unbatched = synthetic_dataset(None).unbatch().batch(4)
    with pytest.raises(ValueError, match="drop_remainder=True"):
        Trainer(
            str(tmp_path),
            tf.distribute.get_strategy(),
            lambda: get_model("tiny_acoustic"),
            make_optimizer,
            unbatched,
        )


def test_train_refuses_an_unknown_setting_naming_the_known_ones(tmp_path):
    with pytest.raises(
        ValueError, match=r"unknown settings \['chekpoint_every'\].*'checkpoint_every'"
    ):
        train_tiny(tmp_path / "run", tmp_path / "records", chekpoint_every=5)


def test_validation_steps_keep_the_same_batches_at_every_validation(tmp_path):
    generator = tf.random.Generator.from_seed(0)  # its state moves on: new noise at every pass

    def noisy(batch):  # an augmenting validation set
        return {**batch, "mel": batch["mel"] + generator.uniform(tf.shape(batch["mel"]))}

    validation = synthetic_dataset(None, split="validation").map(noisy)
    fixed = _trainer(tmp_path / "fixed", validation_dataset=validation, validation_steps=1)
    assert fixed.validate() == fixed.validate()
    whole = _trainer(tmp_path / "whole", validation_dataset=validation, validation_steps=None)
    assert whole.validate() != whole.validate()
