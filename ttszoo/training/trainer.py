"""The training loop: strategy, mixed precision, XLA steps, checkpoints, summaries, callbacks.

``train`` (a gin root) builds everything from gin and runs a ``Trainer``. The model interface it
relies on is documented in docs/model_directory.md:

  * ``compute_losses(batch, training) -> dict`` of float scalars with a ``"loss"`` total,
    each the mean over the batch it was given (the per-replica batch);
  * ``trace_constants() -> dict`` (optional): Python constants baked into the traced step,
    such as the reduction factor; when a callback changes one, the step is retraced;
  * ``sample(batch) -> dict`` (optional): images / audio / linear spectrograms to show.
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from tqdm import tqdm

import gin
from ttszoo.models.registry import get_model
from ttszoo.training import strategy as strategies
from ttszoo.training.checkpoints import CheckpointStore, check_weights_are_tracked
from ttszoo.training.fingerprint import check_fingerprint, compute_fingerprint, save_fingerprint
from ttszoo.training.model_dir import ModelDirectory
from ttszoo.training.optimization import PRECISIONS, current_learning_rate, make_optimizer
from ttszoo.training.specs import save_batch_spec
from ttszoo.training.summaries import write_samples
from ttszoo.training.tensorboard import write_scalar


def trace_key(model):
    """The hashable value of ``model.trace_constants()`` (``()`` when the model has none)."""
    method = getattr(model, "trace_constants", None)
    if method is None:
        return ()
    constants = method()
    if not isinstance(constants, dict):
        raise TypeError(
            f"{type(model).__name__}.trace_constants() must return a dict, got {constants!r}."
        )
    return tuple(sorted(constants.items()))


def _check_losses(model, losses):
    if not isinstance(losses, dict) or "loss" not in losses:
        raise ValueError(
            f"{type(model).__name__}.compute_losses() must return a dict of scalars with a 'loss' "
            f"total, got {type(losses).__name__} with keys {sorted(losses) if isinstance(losses, dict) else '-'}."
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
        raise ValueError(
            f"The {split} dataset must have a static batch size (batch with drop_remainder=True), "
            f"so that every compiled step sees the same shapes; got element spec {dataset.element_spec}."
        )
    if batch % replicas:
        raise ValueError(
            f"The {split} batch size {batch} does not divide among {replicas} replicas; use a "
            f"multiple of {replicas}."
        )
    return batch


class Trainer:
    """Trains one model into one model directory under one distribution strategy.

    Args:
      model_dir: the model directory (resumed when it holds checkpoints).
      strategy: a ``tf.distribute.Strategy``.
      model_fn: builds the model (called in ``strategy.scope()``).
      optimizer_fn: ``optimizer_fn(precision=...)`` builds the optimizer (in the scope).
      train_dataset: ``tf.data.Dataset`` of dict batches with a static global batch size.
      validation_dataset: the same for validation, or ``None``.
      precision: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"`` (loss scaling).
      jit_compile: XLA-compile the step (switched off, with a log line, where the strategy
        cannot run it).
      steps_per_execution: training steps run per call into the compiled loop.
      checkpoint_every / log_every / validate_every / sample_every: intervals in steps (0 = never).
      keep_checkpoints: how many checkpoints to keep.
      validation_steps: validation batches per validation (``None``: the whole split).
      callbacks: ``keras.callbacks.Callback`` instances (see docs/model_directory.md).
      audio_config: ``ttszoo.audio.AudioConfig`` for audio samples.
      verbose: show the progress bar.
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
    ):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
        if steps_per_execution < 1:
            raise ValueError(f"steps_per_execution must be >= 1, got {steps_per_execution}.")
        self.directory = ModelDirectory(model_dir)
        self.strategy = strategy
        self.replicas = strategy.num_replicas_in_sync
        self.is_chief = strategies.is_chief(strategy)
        self.precision = precision
        self.jit_compile = jit_compile and strategies.supports_jit_compile(strategy)
        if jit_compile and not self.jit_compile:
            logging.info(
                "XLA is off: %s over CPU devices cannot run compiled steps.",
                type(strategy).__name__,
            )
        self.steps_per_execution = steps_per_execution
        self.intervals = {
            "checkpoint": checkpoint_every,
            "log": log_every,
            "validate": validate_every if validation_dataset is not None else 0,
            "sample": sample_every,
        }
        self.validation_steps = validation_steps
        self.verbose = verbose
        self.audio_config = audio_config or self.directory.audio_config()

        self.global_batch_size = _global_batch_size(train_dataset, self.replicas, "training")
        if validation_dataset is not None:
            _global_batch_size(validation_dataset, self.replicas, "validation")
            if validation_steps is not None:
                validation_dataset = validation_dataset.take(validation_steps)
        self._example_batch = next(iter(train_dataset.take(1)))
        self._train_data = strategy.experimental_distribute_dataset(train_dataset.repeat())
        self._validation_data = (
            None
            if validation_dataset is None
            else strategy.experimental_distribute_dataset(validation_dataset)
        )
        sample_source = validation_dataset if validation_dataset is not None else train_dataset
        self._sample_batch = next(
            iter(strategy.experimental_distribute_dataset(sample_source.take(1)))
        )

        previous_policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(precision)
        try:
            with strategy.scope():
                self.model = model_fn()
                losses = self.model.compute_losses(self._example_batch, training=False)
                _check_losses(self.model, losses)
                check_weights_are_tracked(self.model)
                self.loss_names = sorted(losses)
                self.optimizer = optimizer_fn(precision=precision)
                self.model.compile(optimizer=self.optimizer, jit_compile=False)
                self.optimizer.build(self.model.trainable_variables)
        finally:
            keras.config.set_dtype_policy(previous_policy)
        self.model.stop_training = False
        self.callbacks = keras.callbacks.CallbackList(
            list(callbacks), add_history=False, add_progbar=False, model=self.model
        )
        self.store = CheckpointStore(
            self.directory.checkpoints,
            tf.train.Checkpoint(model=self.model, optimizer=self.optimizer),
            keep=keep_checkpoints,
            is_chief=self.is_chief,
            worker_id=strategies.worker_id(strategy),
        )
        self._train_functions = {}
        self._eval_functions = {}
        self._sample_functions = {}
        if self.is_chief:
            self.writers = {
                split: tf.summary.create_file_writer(self.directory.join(split))
                for split in ("train", "validation")
            }
        else:
            self.writers = dict.fromkeys(("train", "validation"), tf.summary.create_noop_writer())

    # Compiled functions, one per value of the model's trace constants.

    def _cached(self, cache, build):
        key = trace_key(self.model)
        if key not in cache:
            if cache:
                logging.info("Retracing for the model's new trace constants %s.", dict(key))
            cache[key] = build()
        return cache[key]

    def _build_train_function(self):
        model, optimizer, strategy, replicas = (
            self.model,
            self.optimizer,
            self.strategy,
            self.replicas,
        )
        names = self.loss_names

        def one_step(batch):
            with tf.GradientTape() as tape:
                losses = model.compute_losses(batch, training=True)
                # The gradients of the replicas are summed, so each replica's batch mean is
                # divided by the replica count: the update follows the global-batch mean.
                loss = tf.cast(losses["loss"], tf.float32) / replicas
                scaled = optimizer.scale_loss(loss)
            gradients = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply(gradients, model.trainable_variables)
            return {name: tf.cast(losses[name], tf.float32) for name in names}

        if self.jit_compile:
            one_step = tf.function(one_step, jit_compile=True)

        @tf.function
        def run_steps(iterator, count):
            totals = {name: tf.constant(0.0) for name in names}
            for _ in tf.range(count):
                per_replica = strategy.run(one_step, args=(next(iterator),))
                totals = {
                    name: totals[name] + strategy.reduce("MEAN", per_replica[name], axis=None)
                    for name in names
                }
            return {name: totals[name] / tf.cast(count, tf.float32) for name in names}

        return run_steps

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
        if self.is_chief:
            check_fingerprint(self.directory.fingerprint, self.model)
        step = self.store.restore_latest()
        if step is None:
            if self.is_chief:
                save_fingerprint(self.directory.fingerprint, compute_fingerprint(self.model))
                save_batch_spec(self.directory, self._example_batch)
            logging.info("Starting %s from scratch.", self.directory.path)
            return 0
        if int(self.optimizer.iterations) != step:
            raise RuntimeError(
                f"Checkpoint step {step} and the restored optimizer step {int(self.optimizer.iterations)} "
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
        return count

    def fit(self, steps):
        """Trains until the optimizer has taken ``steps`` steps; returns the last logs."""
        step = self._restore()
        self._write_operative_config()
        logging.info("Open TensorBoard with: tensorboard --logdir %s", self.directory.path)
        logs = {}
        if step >= steps:
            logging.info(
                "%s is already trained to step %d >= %d.", self.directory.path, step, steps
            )
            return {"step": step}
        iterator = iter(self._train_data)
        window = {name: 0.0 for name in self.loss_names}
        window_steps, window_seconds = 0, 0.0
        progress = tqdm(
            total=steps,
            initial=step,
            unit="step",
            disable=not (self.verbose and self.is_chief),
            dynamic_ncols=True,
        )
        self.callbacks.on_train_begin()
        self.callbacks.on_epoch_begin(0)
        last_saved = None
        while step < steps and not self.model.stop_training:
            count = self._steps_to_next_event(step, steps)
            self.callbacks.on_train_batch_begin(step)
            started = time.perf_counter()
            losses = self._cached(self._train_functions, self._build_train_function)(
                iterator, tf.constant(count, tf.int32)
            )
            losses = {name: float(value) for name, value in losses.items()}
            seconds = time.perf_counter() - started
            step += count
            if not math.isfinite(losses["loss"]) and self.precision != "mixed_float16":
                raise FloatingPointError(
                    f"The training loss became {losses['loss']} at step {step}. Lower the learning "
                    "rate, clip the gradients (make_optimizer.clip_norm) or check the data."
                )
            for name in self.loss_names:
                window[name] += losses[name] * count
            window_steps, window_seconds = window_steps + count, window_seconds + seconds
            logs = dict(
                losses,
                learning_rate=current_learning_rate(self.optimizer),
                steps_per_second=count / seconds,
            )
            progress.update(count)
            progress.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            self.callbacks.on_train_batch_end(step - 1, logs)
            if self._due("log", step, steps):
                means = {name: total / window_steps for name, total in window.items()}
                self._write_scalars(
                    "train",
                    step,
                    dict(
                        means,
                        learning_rate=logs["learning_rate"],
                        steps_per_second=window_steps / window_seconds,
                    ),
                )
                window = dict.fromkeys(window, 0.0)
                window_steps, window_seconds = 0, 0.0
            if self._due("validate", step, steps):
                logs.update({f"val_{k}": v for k, v in self.validate(step).items()})
            if self._due("sample", step, steps):
                self.write_samples(step)
            if self._due("checkpoint", step, steps):
                self.store.save(step)
                last_saved = step
                logging.info("Saved checkpoint at step %d.", step)
        if last_saved != step:
            self.store.save(step)
            logging.info("Saved checkpoint at step %d.", step)
        progress.close()
        logs["step"] = step
        self.callbacks.on_epoch_end(0, logs)
        self.callbacks.on_train_end(logs)
        for writer in self.writers.values():
            writer.flush()
        return logs

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
            raise ValueError("The validation dataset is empty; give it at least one full batch.")
        means = {name: total / batches for name, total in totals.items()}
        self.callbacks.on_test_end(means)
        if step is not None:
            self._write_scalars("validation", step, means)
        return means

    def write_samples(self, step):
        """Draws the model's samples on the first validation (or training) batch and writes them."""
        if not hasattr(self.model, "sample"):
            return []
        samples = self._cached(self._sample_functions, self._build_sample_function)(
            self._sample_batch
        )
        if not self.is_chief:
            return []
        samples = tf.nest.map_structure(lambda t: np.asarray(t), samples)
        return write_samples(
            samples, step, self.directory.sample_dir(step), self.audio_config, self.writers["train"]
        )


@gin.configurable(module="ttszoo.training")
def train(
    model_dir,
    records_dir=None,
    steps=gin.REQUIRED,
    model_fn=get_model,
    dataset_fn=None,
    optimizer_fn=make_optimizer,
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
    strategy=None,
    tpu=None,
    verbose=True,
):
    """Trains the gin-configured model into ``model_dir`` (resuming it if it has checkpoints).

    Args:
      model_dir: the model directory.
      records_dir: the preprocessed features (``ttszoo preprocess``); passed to ``dataset_fn``
        and its ``features.json`` is copied into the model directory.
      steps: total optimizer steps to reach.
      model_fn: builds the model; by default ``get_model`` (``get_model.name`` in gin).
      dataset_fn: ``dataset_fn(records_dir, split=...)`` -> ``tf.data.Dataset``; by default
        ``ttszoo.data.make_dataset`` with its gin bindings.
      optimizer_fn, precision, jit_compile, steps_per_execution, checkpoint_every,
      keep_checkpoints, log_every, validate_every, validation_steps, sample_every, callbacks:
        see ``Trainer``.
      strategy: a ``tf.distribute.Strategy``; by default ``make_strategy(tpu)``.
      tpu: ``"local"`` or a TPU name, for ``make_strategy``.
      verbose: show the progress bar.

    Returns:
      The logs of the last step (losses, learning rate, validation losses, ``step``).
    """
    if dataset_fn is None:
        from ttszoo.data import make_dataset

        dataset_fn = gin.get_configurable(make_dataset)
    strategy = strategy or strategies.make_strategy(tpu)
    if records_dir is not None and strategies.is_chief(strategy):
        ModelDirectory(model_dir).copy_features(records_dir)
    validation = dataset_fn(records_dir, split="validation") if validate_every else None
    trainer = Trainer(
        model_dir,
        strategy,
        model_fn,
        optimizer_fn,
        dataset_fn(records_dir, split="train"),
        validation,
        precision=precision,
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=keep_checkpoints,
        log_every=log_every,
        validate_every=validate_every,
        validation_steps=validation_steps,
        sample_every=sample_every,
        callbacks=callbacks,
        verbose=verbose,
    )
    return trainer.fit(steps)
