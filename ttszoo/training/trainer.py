"""The training loop: strategy, mixed precision, XLA steps, checkpoints, summaries, callbacks.

``train`` (a gin root) builds everything from gin and runs a ``Trainer``. The trainer talks to
the model through its contract (``ttszoo.models.base.TTSModel``, docs/model_directory.md):
``compute_losses`` gives the named losses, ``loss_groups`` the players (one optimizer each,
``ttszoo.training.loss_groups``), ``trace_constants`` the Python constants baked into a traced
step, ``sample`` the TensorBoard samples.
"""

import contextlib
import inspect
import math
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from tqdm import tqdm

import gin
from ttszoo.errors import InvalidInputError
from ttszoo.models.base import TTSModel
from ttszoo.models.registry import get_model
from ttszoo.training import loss_groups
from ttszoo.training import strategy as strategies
from ttszoo.training.checkpoints import CheckpointStore, check_weights_are_tracked
from ttszoo.training.compatibility import check_features, check_model, read_records_features
from ttszoo.training.fingerprint import compute_fingerprint, save_fingerprint
from ttszoo.training.model_dir import ModelDirectory
from ttszoo.training.optimization import PRECISIONS, make_optimizer
from ttszoo.training.run_lock import model_directory_lock
from ttszoo.training.specs import save_batch_spec
from ttszoo.training.summaries import write_samples
from ttszoo.training.tensorboard import write_scalar


def trace_key(model):
    """The hashable value of ``model.trace_constants()``."""
    constants = model.trace_constants()
    if not isinstance(constants, dict):
        raise TypeError(
            f"{type(model).__name__}.trace_constants() must return a dict, got {constants!r}."
        )
    return tuple(sorted(constants.items()))


def _check_model(model):
    if not isinstance(model, TTSModel):
        raise TypeError(
            f"model_fn built a {type(model).__name__}, not a ttszoo.models.TTSModel; subclass "
            "AcousticModel or VocoderModel (docs/model_directory.md)."
        )


def _check_losses(model, losses):
    if not isinstance(losses, dict):
        raise ValueError(
            f"{type(model).__name__}.compute_losses() must return a dict of scalars, got "
            f"{type(losses).__name__}."
        )
    for name, value in losses.items():
        if tf.convert_to_tensor(value).shape.rank != 0:
            raise ValueError(
                f"{type(model).__name__}.compute_losses()[{name!r}] must be a scalar (the batch "
                f"mean), got shape {tf.convert_to_tensor(value).shape}."
            )


def _global_batch_size(dataset, replicas, split):
    spec = tf.nest.flatten(dataset.element_spec)[0]
    batch = spec.shape[0] if spec.shape.rank else None
    if batch is None:
        raise InvalidInputError(
            f"The {split} dataset must have a static batch size (batch with drop_remainder=True), "
            f"so that every compiled step sees the same shapes; got element spec {dataset.element_spec}."
        )
    if batch % replicas:
        raise InvalidInputError(
            f"The {split} batch size {batch} does not divide among {replicas} replicas; use a "
            f"multiple of {replicas}."
        )
    return batch


class Trainer:
    """Trains one model into one model directory under one distribution strategy.

    Args:
      model_dir: the model directory (resumed when it holds checkpoints).
      strategy: a ``tf.distribute.Strategy``.
      model_fn: builds the model, a ``TTSModel`` (called in ``strategy.scope()``).
      optimizer_fn: ``optimizer_fn(precision=...)`` builds the optimizer of each loss group
        without its own (in the scope; in the gin scope of the group's name, except for the
        default group ``"loss"``).
      train_dataset: ``tf.data.Dataset`` of dict batches with a static global batch size.
      validation_dataset: the same for validation, or ``None``.
      precision: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"`` (loss scaling,
        one loss scale per optimizer).
      jit_compile: XLA-compile the step (switched off, with a log line, where the strategy
        cannot run it).
      steps_per_execution: training steps run per call into the compiled loop.
      checkpoint_every / log_every / validate_every / sample_every: intervals in steps (0 = never).
      keep_checkpoints: how many checkpoints to keep.
      validation_steps: validation batches per validation, the same ones every time (taken at
        the first validation and kept in memory, so the losses of two validations compare);
        ``None``: the whole split, read again at each validation.
      callbacks: ``keras.callbacks.Callback`` instances (see docs/model_directory.md).
      audio_config: ``ttszoo.audio.AudioConfig`` for audio samples.
      verbose: show the progress bar.
      features: the ``features.json`` dict of the records trained on (default: the model
        directory's), checked against the built model before anything is written.
      records_dir: where those records are, for error messages.
    """

    def __init__(
        self,
        model_dir,
        strategy,
        model_fn,
        optimizer_fn,
        train_dataset,
        validation_dataset=None,
        precision="float32",
        jit_compile=True,
        steps_per_execution=1,
        checkpoint_every=1000,
        keep_checkpoints=5,
        log_every=100,
        validate_every=1000,
        validation_steps=8,
        sample_every=1000,
        callbacks=(),
        audio_config=None,
        verbose=True,
        features=None,
        records_dir=None,
    ):
        if precision not in PRECISIONS:
            raise InvalidInputError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
        if steps_per_execution < 1:
            raise InvalidInputError(f"steps_per_execution must be >= 1, got {steps_per_execution}.")
        self.directory = ModelDirectory(model_dir)
        self.strategy = strategy
        self.replicas = strategy.num_replicas_in_sync
        self.is_chief = strategies.is_chief(strategy)
        self.precision = precision
        self.jit_compile = self._usable_jit_compile(jit_compile)
        self.steps_per_execution = steps_per_execution
        self.intervals = {
            "checkpoint": checkpoint_every,
            "log": log_every,
            "validate": validate_every if validation_dataset is not None else 0,
            "sample": sample_every,
        }
        self.verbose = verbose
        if audio_config is None and features and "audio_config" in features:
            from ttszoo.audio import AudioConfig

            audio_config = AudioConfig.from_dict(features["audio_config"])
        self.audio_config = audio_config or self.directory.audio_config()
        self._prepare_data(train_dataset, validation_dataset, validation_steps)
        self._build_model(model_fn, optimizer_fn, features, records_dir)
        self.callbacks = keras.callbacks.CallbackList(
            list(callbacks), add_history=False, add_progbar=False, model=self.model
        )
        self.store = CheckpointStore(
            self.directory.checkpoints,
            tf.train.Checkpoint(model=self.model, step=self.step, optimizers=self.optimizers),
            keep=keep_checkpoints,
            is_chief=self.is_chief,
            worker_id=strategies.worker_id(strategy),
        )
        self._train_functions, self._eval_functions, self._sample_functions = {}, {}, {}
        self.writers = self._make_writers()

    def _usable_jit_compile(self, jit_compile):
        usable = jit_compile and strategies.supports_jit_compile(self.strategy)
        if jit_compile and not usable:
            logging.info(
                "XLA is off: %s over CPU devices cannot run compiled steps.",
                type(self.strategy).__name__,
            )
        return usable

    def _prepare_data(self, train_dataset, validation_dataset, validation_steps):
        """Checks the batch sizes and distributes the datasets over the strategy."""
        strategy = self.strategy
        self.global_batch_size = _global_batch_size(train_dataset, self.replicas, "training")
        if validation_dataset is not None:
            _global_batch_size(validation_dataset, self.replicas, "validation")
            if validation_steps is not None:
                validation_dataset = validation_dataset.take(validation_steps)
        self._example_batch = next(iter(train_dataset.take(1)))
        self._train_data = strategy.experimental_distribute_dataset(train_dataset.repeat())
        self._validation_data = None
        if validation_dataset is not None:
            # The taken batches are kept after the first pass: a partial pass over a cached
            # record file (as make_dataset's) would log a warning at every validation, and the
            # losses of an augmenting dataset would not compare.
            kept = validation_dataset if validation_steps is None else validation_dataset.cache()
            self._validation_data = strategy.experimental_distribute_dataset(kept)
        sample_source = validation_dataset if validation_dataset is not None else train_dataset
        self._sample_batch = next(
            iter(strategy.experimental_distribute_dataset(sample_source.take(1)))
        )

    def _build_model(self, model_fn, optimizer_fn, features, records_dir):
        """Builds, in the strategy scope and the training precision, the model, its weights,
        one optimizer per loss group and the step counter."""
        previous_policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.precision)
        try:
            with self.strategy.scope():
                self.model = model = model_fn()
                _check_model(model)
                model.check_batch(self._example_batch)
                losses = model.compute_losses(self._example_batch, training=False)
                _check_losses(model, losses)
                groups = tuple(model.loss_groups())
                loss_groups.check_groups(model, groups, losses)
                check_weights_are_tracked(model)
                self.loss_names = sorted(losses)
                self.players = loss_groups.make_players(model, groups, optimizer_fn, self.precision)
                self.optimizers = {p.group.name: p.optimizer for p in self.players}
                # The first group that updates at every step: its iterations are the global
                # step, which callbacks read from model.optimizer.
                self.optimizer = next(p.optimizer for p in self.players if p.group.always)
                model.compile(optimizer=self.optimizer, jit_compile=False)
                self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        finally:
            keras.config.set_dtype_policy(previous_policy)
        if self.is_chief:  # before the first write into the directory (checkpoints/, train/)
            check_model(self.directory, self.model, features, records_dir)
        self.model.stop_training = False

    def _make_writers(self):
        if not self.is_chief:
            return dict.fromkeys(("train", "validation"), tf.summary.create_noop_writer())
        return {
            split: tf.summary.create_file_writer(self.directory.join(split))
            for split in ("train", "validation")
        }

    # Compiled functions, one per value of the model's trace constants (and active players).

    def _cached(self, cache, build, extra=()):
        key = (trace_key(self.model), extra)
        if key not in cache:
            if any(cached[0] != key[0] for cached in cache):
                logging.info("Retracing for the model's new trace constants %s.", dict(key[0]))
            cache[key] = build()
        return cache[key]

    def _train_function(self, step):
        players = loss_groups.active_players(self.players, step)
        names = tuple(p.group.name for p in players)
        self.model.set_active_groups(names)
        return self._cached(
            self._train_functions,
            lambda: loss_groups.build_train_function(
                self.model, players, self.strategy, self.loss_names, self.jit_compile
            ),
            names,
        )

    def _build_eval_function(self):
        model, strategy, names = self.model, self.strategy, self.loss_names

        def one_step(batch):
            losses = model.compute_losses(batch, training=False)
            return {name: tf.cast(losses[name], tf.float32) for name in names}

        @tf.function
        def evaluate(batch):
            per_replica = strategy.run(one_step, args=(batch,))
            return {name: strategy.reduce("MEAN", per_replica[name], axis=None) for name in names}

        return evaluate

    def _build_sample_function(self):
        model, strategy = self.model, self.strategy
        sample = tf.function(lambda batch: model.sample(batch))

        def run(batch):
            return strategy.experimental_local_results(strategy.run(sample, args=(batch,)))[0]

        return run

    # The loop.

    def _restore(self):
        step = self.store.restore_latest()
        if step is None:
            if self.is_chief:
                save_fingerprint(self.directory.fingerprint, compute_fingerprint(self.model))
                save_batch_spec(self.directory, self._example_batch)
            logging.info("Starting %s from scratch.", self.directory.path)
            return 0
        if int(self.step) != step:
            raise RuntimeError(
                f"Checkpoint step {step} and the restored training step {int(self.step)} "
                "differ; the checkpoint was not written by ttszoo."
            )
        logging.info("Resumed %s from step %d.", self.directory.path, step)
        return step

    def _write_operative_config(self):
        if self.is_chief:
            self.directory.write_operative_config(gin.operative_config_str())

    def _due(self, event, step, steps):
        interval = self.intervals[event]
        return interval > 0 and (step % interval == 0 or step == steps)

    def _steps_to_next_event(self, step, steps):
        count = min(self.steps_per_execution, steps - step)
        for interval in self.intervals.values():
            if interval > 0:
                count = min(count, interval - step % interval)
        same_players = loss_groups.steps_with_same_players(self.players, step)
        return count if same_players is None else min(count, same_players)

    def fit(self, steps):
        """Trains until the training step reaches ``steps``; returns the last logs."""
        step = self._restore()
        self._write_operative_config()
        logging.info("Open TensorBoard with: tensorboard --logdir %s", self.directory.path)
        if step >= steps:
            logging.info(
                "%s is already trained to step %d >= %d.", self.directory.path, step, steps
            )
            return {"step": step}
        iterator = iter(self._train_data)
        self._window = _LossWindow(self.loss_names)
        progress = tqdm(
            total=steps,
            initial=step,
            unit="step",
            disable=not (self.verbose and self.is_chief),
            dynamic_ncols=True,
        )
        self.callbacks.on_train_begin()
        self.callbacks.on_epoch_begin(0)
        logs, last_saved = {}, None
        while step < steps and not self.model.stop_training:
            count = self._steps_to_next_event(step, steps)
            logs = self._execute(iterator, step, count)
            step += count
            progress.update(count)
            progress.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            self.callbacks.on_train_batch_end(step - 1, logs)
            if self._handle_events(step, steps, logs):
                last_saved = step
        if last_saved != step:
            self._save(step)
        progress.close()
        logs["step"] = step
        self.callbacks.on_epoch_end(0, logs)
        self.callbacks.on_train_end(logs)
        for writer in self.writers.values():
            writer.flush()
        return logs

    def _execute(self, iterator, step, count):
        """Runs ``count`` compiled steps from ``step``; returns the logs of the execution."""
        self.callbacks.on_train_batch_begin(step)
        started = time.perf_counter()
        losses = self._train_function(step)(iterator, tf.constant(count, tf.int32))
        losses = {name: float(value) for name, value in losses.items()}
        seconds = time.perf_counter() - started
        self.step.assign_add(count)
        self._check_finite(losses, step + count)
        self._window.add(losses, count, seconds)
        return dict(
            losses, **loss_groups.learning_rates(self.players), steps_per_second=count / seconds
        )

    def _check_finite(self, losses, step):
        if self.precision == "mixed_float16":
            return  # the loss scale skips the steps with non-finite gradients
        for name in sorted({player.group.loss for player in self.players}):
            if not math.isfinite(losses[name]):
                raise FloatingPointError(
                    f"The training {name} became {losses[name]} at step {step}. Lower the "
                    "learning rate, clip the gradients (make_optimizer.clip_norm) or check the data."
                )

    def _handle_events(self, step, steps, logs):
        """Writes logs, validates, samples and saves when due; returns whether it saved."""
        if self._due("log", step, steps):
            rates = {k: v for k, v in logs.items() if k.startswith("learning_rate")}
            self._write_scalars("train", step, {**self._window.flush(), **rates})
        if self._due("validate", step, steps):
            logs.update({f"val_{k}": v for k, v in self.validate(step).items()})
        if self._due("sample", step, steps):
            self.write_samples(step)
        if self._due("checkpoint", step, steps):
            self._save(step)
            return True
        return False

    def _save(self, step):
        self.store.save(step)
        logging.info("Saved checkpoint at step %d.", step)

    def _write_scalars(self, split, step, values):
        with self.writers[split].as_default():
            for name, value in values.items():
                write_scalar(name, value, step)

    def validate(self, step=None):
        """Runs the validation split; returns the mean of each loss (and writes them at ``step``)."""
        if self._validation_data is None:
            raise ValueError("This trainer has no validation dataset.")
        evaluate = self._cached(self._eval_functions, self._build_eval_function)
        self.callbacks.on_test_begin()
        totals, batches = {name: 0.0 for name in self.loss_names}, 0
        for batch in self._validation_data:
            self.callbacks.on_test_batch_begin(batches)
            losses = evaluate(batch)
            for name in self.loss_names:
                totals[name] += float(losses[name])
            self.callbacks.on_test_batch_end(batches, {k: float(v) for k, v in losses.items()})
            batches += 1
        if batches == 0:
            raise InvalidInputError(
                "The validation dataset is empty; give it at least one full batch."
            )
        means = {name: total / batches for name, total in totals.items()}
        self.callbacks.on_test_end(means)
        if step is not None:
            self._write_scalars("validation", step, means)
        return means

    def write_samples(self, step):
        """Draws the model's samples on the first validation (or training) batch and writes them."""
        samples = self._cached(self._sample_functions, self._build_sample_function)(
            self._sample_batch
        )
        if not self.is_chief or not samples:
            return []
        samples = tf.nest.map_structure(lambda t: np.asarray(t), samples)
        return write_samples(
            samples, step, self.directory.sample_dir(step), self.audio_config, self.writers["train"]
        )


class _LossWindow:
    """The step-weighted mean of each loss, and the speed, since the last log."""

    def __init__(self, names):
        self.names = names
        self._reset()

    def _reset(self):
        self.totals = dict.fromkeys(self.names, 0.0)
        self.steps, self.seconds = 0, 0.0

    def add(self, losses, steps, seconds):
        for name in self.names:
            self.totals[name] += losses[name] * steps
        self.steps, self.seconds = self.steps + steps, self.seconds + seconds

    def flush(self):
        means = {name: total / self.steps for name, total in self.totals.items()}
        means["steps_per_second"] = self.steps / self.seconds
        self._reset()
        return means


# The Trainer's settings: its keyword arguments with defaults, aside from the validation data
# and the records (which train() reads itself).
_TRAINER_SETTINGS = {
    name: parameter.default
    for name, parameter in inspect.signature(Trainer).parameters.items()
    if parameter.default is not inspect.Parameter.empty
    and name not in ("validation_dataset", "features", "records_dir")
}


def _with_trainer_settings(function):
    """Lists the Trainer's settings in ``function``'s signature in place of its ``**settings``,
    so that gin refuses a misspelt ``train.<setting>`` when it parses the file (naming the file
    and line) instead of accepting any name."""
    signature = inspect.signature(function)
    parameters = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    parameters += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in _TRAINER_SETTINGS.items()
    ]
    function.__signature__ = signature.replace(parameters=parameters)
    return function


def _check_settings(settings):
    """Raises InvalidInputError for a keyword of ``train()`` that is no Trainer setting."""
    unknown = sorted(set(settings) - set(_TRAINER_SETTINGS))
    if unknown:
        raise InvalidInputError(
            f"train() got unknown settings {unknown}; the trainer's settings are "
            f"{sorted(_TRAINER_SETTINGS)}."
        )


def _gin_make_dataset():
    """``ttszoo.data.make_dataset`` with its gin bindings."""
    from ttszoo.data import make_dataset

    return gin.get_configurable(make_dataset)


def _make_trainer(
    model_dir, strategy, model_fn, optimizer_fn, dataset_fn, records_dir, features, settings
):
    """The ``Trainer`` of ``train()``, with a validation split unless ``validate_every=0``."""
    validate = settings.get("validate_every", _TRAINER_SETTINGS["validate_every"])
    validation = dataset_fn(records_dir, split="validation") if validate else None
    return Trainer(
        model_dir,
        strategy,
        model_fn,
        optimizer_fn,
        dataset_fn(records_dir, split="train"),
        validation,
        features=features,
        records_dir=records_dir,
        **settings,
    )


@gin.configurable(module="ttszoo.training")
@_with_trainer_settings
def train(
    model_dir,
    records_dir=None,
    steps=gin.REQUIRED,
    model_fn=get_model,
    dataset_fn=None,
    optimizer_fn=make_optimizer,
    strategy=None,
    tpu=None,
    **settings,
):
    """Trains the gin-configured model into ``model_dir`` (resuming it if it has checkpoints).

    Args:
      model_dir: the model directory.
      records_dir: the preprocessed features (``ttszoo preprocess``); passed to ``dataset_fn``
        and its ``features.json`` is copied into the model directory (once every check has
        passed). ``None``: the records folder saved in the directory's ``run.json``.
      steps: total training steps to reach.
      model_fn: builds the model; by default ``get_model`` (``get_model.name`` in gin).
      dataset_fn: ``dataset_fn(records_dir, split=...)`` -> ``tf.data.Dataset``; by default
        ``ttszoo.data.make_dataset`` with its gin bindings.
      optimizer_fn: see ``Trainer``.
      strategy: a ``tf.distribute.Strategy``; by default ``make_strategy(tpu)``.
      tpu: ``"local"`` or a TPU name, for ``make_strategy``.
      **settings: the ``Trainer``'s settings (``precision``, ``jit_compile``,
        ``checkpoint_every``, ``callbacks``, ...; gin: ``train.checkpoint_every = 500``).

    Returns:
      The logs of the last step (losses, learning rate, validation losses, ``step``).

    Raises:
      ModelDirectoryBusyError: another process is training into ``model_dir``.
      FeaturesMismatchError, FingerprintMismatchError, VocabularyMismatchError: the records or
        the model do not fit the directory; nothing was written into it.
    """
    _check_settings(settings)
    dataset_fn = dataset_fn or _gin_make_dataset()
    strategy = strategy or strategies.make_strategy(tpu)
    chief = strategies.is_chief(strategy)
    directory = ModelDirectory(model_dir)
    with model_directory_lock(model_dir) if chief else contextlib.nullcontext():
        # Every compatibility check passes before the first write into the directory
        # (ttszoo/training/compatibility.py): features here, the model's in Trainer.
        records_dir = directory.records_dir() if records_dir is None else records_dir
        features = read_records_features(records_dir)
        if chief:
            check_features(directory, features, records_dir)
        trainer = _make_trainer(
            model_dir, strategy, model_fn, optimizer_fn, dataset_fn, records_dir, features, settings
        )
        if chief and records_dir is not None:
            directory.copy_features(records_dir)
            directory.save_records_dir(records_dir)
        return trainer.fit(steps)
