"""What the training-parity benchmarks share (wavegrad_training_parity.py against lmnt-com's
wavegrad, wavenet_training_parity.py against r9y9's wavenet_vocoder): the common options, the
arrays sent to the peer, ttszoo's optimizer, the alternating blocks of steps and the results.

Each benchmark supplies its draws, its ttszoo side (``train(block)`` returning
``{"losses", "seconds"}``), its peer call and its evaluation.

Two options every benchmark has:

* ``--peer_epsilon``: the two Adams add epsilon in different places, Keras to ``sqrt(v)``,
  PyTorch to the bias-corrected ``sqrt(v / (1 - beta_2^t))``, so PyTorch's epsilon is in
  effect ``sqrt(1 - beta_2^t)`` times Keras' (1/32 at the first step, 1/3 at step 10) and
  parameters with tiny gradients move further. ``keras`` (the default) gives the peer ttszoo's
  epsilon, rescaled at every step so that its update is Keras Adam's
  (``peer_process.use_keras_epsilon``); ``torch`` keeps the peer's own Adam as its code sets it.
* ``--twin 1`` measures the noise floor: a second ttszoo model ("twin") trains on the same
  draws from the same weights, each moved by one unit in the last place (up or down at random;
  a relative change of about 1e-7, the size of the round-off between the two implementations'
  first passes). How far ttszoo and its twin drift apart is how far two runs that differ by
  rounding alone drift apart; the evaluations report the twin beside the two sides.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ttszoo.training import make_optimizer

SIDES = ("ttszoo", "peer")


def parser_with_common_options(
    description, steps, eval_every, learning_rate, clip_norm, jit_compile
):
    """An ``argparse`` parser with the options every parity benchmark has (``jit_compile``: the
    default of ``--jit_compile``, as the model's CPU recipes train)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--peer_python", default="/work/peer_venv/bin/python")
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--eval_every", type=int, default=eval_every)
    parser.add_argument("--block", type=int, default=10, help="steps per turn")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--learning_rate", type=float, default=learning_rate)
    parser.add_argument("--clip_norm", type=float, default=clip_norm, help="global norm")
    parser.add_argument("--jit_compile", type=int, default=jit_compile, help="1: XLA step")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="CPU threads of each side (TensorFlow intra-op, torch)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer_epsilon", choices=["keras", "torch"], default="keras",
                        help="where the peer's Adam adds epsilon (see the docstring)")  # fmt: skip
    parser.add_argument("--twin", type=int, default=0,
                        help="1: also train ttszoo's twin, its weights 1 ulp away")  # fmt: skip
    parser.add_argument("--json", default=None, help="Also write the results here.")
    parser.add_argument("--figure", default=None, help="Write the learning curves here (png).")
    return parser


def parse(parser):
    """The parsed arguments, checked, with TensorFlow's threads set."""
    args = parser.parse_args()
    if args.steps % args.eval_every or args.eval_every % args.block:
        parser.error("--steps must be a multiple of --eval_every, and that of --block.")
    if args.steps <= args.block:
        parser.error("--steps must be more than one --block: the first block is not timed.")
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    return args


def to_peer(arrays, path):
    """Writes arrays for a worker: the mel channels-first (``[..., n_mels, T]``)."""
    np.savez(path, **{k: np.swapaxes(v, -1, -2) if k == "mel" else v for k, v in arrays.items()})
    return str(path)


def ttszoo_optimizer(model, args, epsilon=None):
    """ttszoo's Adam at the benchmark's rate and clipping (``epsilon``: Keras' 1e-7 if None),
    built for ``model``'s variables."""
    optimizer = make_optimizer(
        keras.optimizers.Adam, learning_rate=args.learning_rate, clip_norm=args.clip_norm
    )
    if epsilon is not None:
        optimizer.epsilon = epsilon
    optimizer.build(model.trainable_variables)
    return optimizer


class TtszooSide:
    """ttszoo's model with its own optimizer and its training step (XLA-compiled or not).

    Subclasses define ``training_loss(*arrays)`` (a scalar) and ``inputs``, the batch entries it
    takes, in order; ``train(block)`` runs one step per batch of the block.
    """

    inputs = ()

    def __init__(self, model, args):
        self.model = model
        self.optimizer = ttszoo_optimizer(model, args, args.adam_epsilon)
        self.step = tf.function(self._step, jit_compile=bool(args.jit_compile))

    def training_loss(self, *arrays):
        raise NotImplementedError

    def _step(self, *arrays):
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            loss = self.training_loss(*arrays)
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    def train(self, batches):
        losses, seconds = [], []
        for batch in batches:
            started = time.perf_counter()
            losses.append(float(self.step(*(batch[name] for name in self.inputs))))
            seconds.append(time.perf_counter() - started)
        return {"losses": losses, "seconds": seconds}


def one_ulp_away(weights, seed):
    """Each array of ``weights`` with every entry moved one float step up or down at random."""
    rng = np.random.default_rng(seed)
    moved = []
    for w in weights:
        direction = np.where(rng.random(w.shape) < 0.5, -np.inf, np.inf).astype(w.dtype)
        moved.append(np.nextafter(w, direction))
    return moved


def with_twin(train, twin):
    """``train(block)``, after the twin's steps on the same block (untimed) if there is one."""
    if twin is None:
        return train

    def both(block):
        twin.train(block)
        return train(block)

    return both


def train_alternating(args, batches, train_ours, train_peer, evaluate):
    """``--steps`` steps in blocks of ``--block``, the sides taking turns (who goes first
    alternates too), ``evaluate(step)`` before the first and every ``--eval_every``.

    ``train_ours(block)`` and ``train_peer(block)`` take a list of batches and return
    ``{"losses", "seconds"}``. Returns the losses, seconds and evaluations.
    """
    losses = {side: [] for side in SIDES}
    seconds = {side: [] for side in SIDES}
    evaluations = [evaluate(0)]
    for block_index in range(args.steps // args.block):
        block = [next(batches) for _ in range(args.block)]
        for side in SIDES if block_index % 2 == 0 else SIDES[::-1]:
            out = (train_ours if side == "ttszoo" else train_peer)(block)
            losses[side] += out["losses"]
            seconds[side] += out["seconds"]
        step = (block_index + 1) * args.block
        if step % args.eval_every == 0:
            evaluations.append(evaluate(step))
    return losses, seconds, evaluations


def common_results(args, features, evaluations, measure, runs, started, load_before):
    """The entries every parity benchmark reports: settings, evaluations, the held-out ratio of
    ``measure`` (the key of each evaluation row), the losses, step times and load.

    ``runs`` is ``(losses, seconds)`` from ``train_alternating``. The first block's steps hold
    the compilation (ttszoo) and warm-up (both), so the median step times leave them out.
    """
    losses, seconds = runs
    medians = {side: statistics.median(seconds[side][args.block :]) for side in SIDES}
    twin = "twin" in evaluations[0][measure]
    return {
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "figure")},
        "training_utterances": len(features["splits"]["train"]["ids"]),
        "steps": args.steps,
        "evaluations": evaluations,
        "heldout_ratio": [row[measure]["ttszoo"] / row[measure]["peer"] for row in evaluations],
        "twin_ratio": [row[measure]["ttszoo"] / row[measure]["twin"] for row in evaluations]
        if twin
        else None,
        "median_step_seconds": medians,
        "step_time_ratio": medians["ttszoo"] / medians["peer"],
        "train_losses": losses,
        "step_seconds": seconds,
        "wall_seconds": time.perf_counter() - started,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def report(results, args, figure):
    """Prints the results without the per-step lists; writes ``--json`` and ``--figure``."""
    summary = {k: v for k, v in results.items() if k not in ("train_losses", "step_seconds")}
    print(json.dumps(summary, indent=1))
    print()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.figure:
        figure(results, args.figure)


def figure(results, path, peer_label, loss_label, panels):
    """Learning curves: each side's training loss (a running mean of 25 steps), then one panel
    per ``(title, ylabel, value)`` with ``value(row, side)`` of every evaluation row (also of
    the twin's, if there is one; NaN leaves a point out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"ttszoo": "ttszoo", "peer": peer_label, "twin": "ttszoo's twin (1 ulp away)"}
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(4.7 * (1 + len(panels)), 3.8))
    window = min(25, results["steps"])
    steps = [row["step"] for row in results["evaluations"]]
    sides = SIDES + ("twin",) if results.get("twin_ratio") else SIDES
    for side, color in zip(sides, ("C0", "C1", "C2")[: len(sides)], strict=True):
        if side in results["train_losses"]:
            losses = np.array(results["train_losses"][side])
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            axes[0].plot(np.arange(window, len(losses) + 1), smooth, color=color,
                         label=labels[side])  # fmt: skip
        for axis, (_, _, value) in zip(axes[1:], panels, strict=True):
            axis.plot(steps, [value(row, side) for row in results["evaluations"]], "o-",
                      color=color, label=labels[side])  # fmt: skip
    axes[0].set(xlabel="step", ylabel=loss_label, title=f"training loss (mean of {window} steps)")
    for axis, (title, ylabel, _) in zip(axes[1:], panels, strict=True):
        axis.set(xlabel="step", ylabel=ylabel, title=title)
    for axis in axes:
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
