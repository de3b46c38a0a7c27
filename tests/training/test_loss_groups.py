"""The trainer with several loss groups: a two-player game of two 2-vectors against numpy.

Player ``d`` moves ``x`` to minimise ``|x - y|^2``; player ``g`` moves ``y`` to minimise
``|y - t|^2 + x.y`` (``t`` the batch mean). With SGD (momentum 0.5) the updates are exact, so
the trained values must equal a hand-written numpy loop: ``d`` first when active, then ``g``
with the ``x`` that ``d`` just moved.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import gin
from ttszoo.models import LossGroup, VocoderModel
from ttszoo.training import Trainer, make_optimizer

X0, Y0, TARGET, MOMENTUM = [1.0, -1.0], [0.5, 2.0], 3.0, 0.5
LR_D, LR_G = 0.05, 0.1


class TwoPlayers(VocoderModel):
    """Two players over two 2-vectors; ``d`` updates every ``every`` steps from ``start``."""

    features = ("mel",)

    def __init__(self, every=2, start=1, optimizer_fns=(None, None), **kwargs):
        super().__init__(**kwargs)
        self.every, self.start, self.optimizer_fns = every, start, optimizer_fns
        self.x = self.add_weight(shape=(2,), initializer=keras.initializers.Constant(X0), name="x")
        self.y = self.add_weight(shape=(2,), initializer=keras.initializers.Constant(Y0), name="y")
        self.built = True

    def compute_losses(self, batch, training=False):
        target = tf.reduce_mean(tf.cast(batch["mel"], tf.float32))
        x, y = tf.convert_to_tensor(self.x), tf.convert_to_tensor(self.y)
        return {
            "loss_d": tf.reduce_sum((x - y) ** 2),
            "loss_g": tf.reduce_sum((y - target) ** 2 + x * y),
        }

    def loss_groups(self):
        return (
            LossGroup("d", "loss_d", [self.x], every=self.every, start=self.start,
                      optimizer_fn=self.optimizer_fns[0]),
            LossGroup("g", "loss_g", [self.y], optimizer_fn=self.optimizer_fns[1]),
        )  # fmt: skip

    def vocode(self, mel):
        return {"audio": tf.reshape(mel, [tf.shape(mel)[0], -1]) * self.y[0]}


def reference(steps, every=2, start=1):
    """The numpy game: returns x, y and the losses logged at the last step."""
    x, y = np.array(X0), np.array(Y0)
    velocity_x, velocity_y = np.zeros(2), np.zeros(2)

    def losses(x, y):
        return {"loss_d": np.sum((x - y) ** 2), "loss_g": np.sum((y - TARGET) ** 2 + x * y)}

    for step in range(steps):
        passes = []
        if step >= start and (step - start) % every == 0:
            passes.append(losses(x, y))
            velocity_x = MOMENTUM * velocity_x - LR_D * 2 * (x - y)
            x = x + velocity_x
        passes.append(losses(x, y))
        velocity_y = MOMENTUM * velocity_y - LR_G * (2 * (y - TARGET) + x)
        y = y + velocity_y
    logged = {name: np.mean([p[name] for p in passes]) for name in ("loss_d", "loss_g")}
    return x, y, logged


def dataset():
    return tf.data.Dataset.from_tensor_slices(
        {"mel": np.full((8, 2, 2), TARGET, np.float32)}
    ).batch(4, drop_remainder=True)


def trainer(model_dir, model_fn, optimizer_fn=make_optimizer, **kwargs):
    settings = dict(log_every=0, checkpoint_every=0, sample_every=0, verbose=False)
    settings.update(kwargs)
    return Trainer(
        str(model_dir), tf.distribute.get_strategy(), model_fn, optimizer_fn, dataset(), **settings
    )


def sgd(learning_rate):
    return lambda precision: make_optimizer(
        keras.optimizers.SGD, learning_rate, precision=precision
    )


@pytest.mark.parametrize("precision", ["float32", "mixed_float16"])
def test_two_players_follow_the_numpy_game_and_resume(tmp_path, precision):
    model_fn = lambda: TwoPlayers(optimizer_fns=(sgd(LR_D), sgd(LR_G)))  # noqa: E731
    gin.parse_config(f"keras.optimizers.SGD.momentum = {MOMENTUM}")
    first = trainer(tmp_path, model_fn, steps_per_execution=4, precision=precision)
    logs = first.fit(5)
    x, y, logged = reference(5)
    np.testing.assert_allclose(first.model.x.numpy(), x, rtol=1e-5)
    np.testing.assert_allclose(first.model.y.numpy(), y, rtol=1e-5)
    np.testing.assert_allclose(
        [logs["loss_d"], logs["loss_g"]], [logged["loss_d"], logged["loss_g"]], rtol=1e-5
    )
    assert logs["learning_rate_d"] == pytest.approx(LR_D) and logs[
        "learning_rate_g"
    ] == pytest.approx(LR_G)
    # d moved at steps 1 and 3, g at every step; each optimizer counts its own updates.
    assert [int(first.optimizers[n].iterations) for n in ("d", "g")] == [2, 5]
    scaled = isinstance(first.optimizers["d"], keras.optimizers.LossScaleOptimizer)
    assert scaled == (precision == "mixed_float16")

    # A new trainer resumes both optimizers (momentum included) and the step from the checkpoint.
    resumed = trainer(tmp_path, model_fn, precision=precision)
    resumed.fit(8)
    x, y, _ = reference(8)
    np.testing.assert_allclose(resumed.model.x.numpy(), x, rtol=1e-5)
    np.testing.assert_allclose(resumed.model.y.numpy(), y, rtol=1e-5)
    assert int(resumed.step) == 8


def test_group_optimizers_take_their_gin_scope_and_compile_with_xla(tmp_path):
    gin.parse_config(
        "make_optimizer.optimizer = @keras.optimizers.SGD\n"
        f"keras.optimizers.SGD.momentum = {MOMENTUM}\n"
        f"d/make_optimizer.learning_rate = {LR_D}\n"
        f"g/make_optimizer.learning_rate = {LR_G}\n"
    )
    run = trainer(tmp_path, lambda: TwoPlayers(every=1, start=0), jit_compile=True)
    assert run.jit_compile
    run.fit(3)
    x, y, _ = reference(3, every=1, start=0)
    np.testing.assert_allclose(run.model.x.numpy(), x, rtol=1e-5)
    np.testing.assert_allclose(run.model.y.numpy(), y, rtol=1e-5)
    assert len(run._train_functions) == 1  # both players every step: one compiled step
    assert run.write_samples(3) == []  # the default sample() shows nothing


@pytest.mark.parametrize(
    "groups, message",
    [
        (lambda m: (), "no group"),
        (lambda m: (LossGroup("d", "missing"),), "does not return"),
        (lambda m: (LossGroup("d", "loss_d", every=2),), "every step"),
        (lambda m: (LossGroup("d", "loss_d"), LossGroup("d", "loss_g")), "repeats"),
        (lambda m: (LossGroup("d", "loss_d", [tf.Variable(1.0)]),), "not the model's"),
    ],
)
def test_bad_loss_groups_are_refused(tmp_path, groups, message):
    class Broken(TwoPlayers):
        def loss_groups(self):
            return groups(self)

    with pytest.raises(ValueError, match=message):
        trainer(tmp_path, Broken)


def test_bad_group_settings_are_refused():
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        LossGroup("d", "loss_d", every=0)
    with pytest.raises(ValueError, match="identifier"):
        LossGroup("two words", "loss")


def test_two_players_under_mirrored_strategy_follow_the_numpy_game(tmp_path):
    here = Path(__file__).parent
    environment = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")])
    )
    result = subprocess.run(
        [sys.executable, str(here / "loss_groups_distributed_check.py"), str(tmp_path)],
        capture_output=True, text=True, env=environment, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    np.testing.assert_allclose(report["trained"], report["reference"], rtol=1e-5)
