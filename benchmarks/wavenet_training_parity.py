"""WaveNet training parity: ttszoo (TensorFlow) and r9y9's wavenet_vocoder 0.1.1 (PyTorch).

Both networks start from the same weights: the peer's initial weights (PyTorch's initialisers,
or r9y9's with ``--peer_weight_norm``), copied into ttszoo (``peer_weights.load_r9y9_wavenet``;
one pass on random windows is checked to agree). The peer is r9y9's ``WaveNet`` behind
ttszoo's mel front end (benchmarks/wavenet_peer_worker.py says why), with dropout off and its
plain skip sum; the loss is each side's own discretized mixture of logistics (r9y9's is the
PixelCNN++ code with its 16-bit edge rule and mid-bin fallback, ttszoo's is exact:
docs/distributions.md).

This driver draws every random quantity once, with numpy, and gives both sides the same
windows: each epoch shuffles the training utterances, in batches of ``--batch_size`` (the rest
of an epoch dropped); each utterance gives one window of ``context_frames + segment_frames``
frames (the model's) at a uniform start inside the utterance, with two more mel frames each side
for the front end. The loss is the mean NLL of the segment's samples; the context frames only
give the first scored sample its receptive field (``WaveNetVocoder.compute_losses``).

The optimizer is each side's own Adam at the same learning rate, epsilon and global-norm
clipping (the WaveNet demo recipe's 2e-3 and 1.0 by default); the ttszoo step is XLA-compiled,
as the trainer's; ``--peer_epsilon`` and ``--twin`` as benchmarks/training_parity.py says
(by default the peer's Adam adds epsilon where Keras' does). The sides alternate blocks of
``--block`` steps (who goes first alternates too). Every ``--eval_every`` steps and before the
first, both report the held-out NLL (nats per sample) of the same windows of the validation utterances; the peer's outputs are also scored
with ttszoo's loss, so the two losses' difference is visible. At the end, each side samples
``--synthesis_utterances`` held-out utterances from their recorded mels, scored as
``ttszoo evaluate`` does (MCD, log-mel L1) and with the frame-aligned log-mel distance.

    python benchmarks/wavenet_training_parity.py --records_dir /tmp/records16k \\
        --steps 400 --eval_every 100 --threads 1 --json /tmp/wavenet_parity.json

Records: the 16 kHz DCTTS demo features with audio (recipes/wavenet/demo_16k.gin). The peer's
virtual environment is benchmarks/vocoder_speed.py's, with r9y9's package (numpy, scipy and
torch are its only requirements):
    /work/peer_venv/bin/pip install wavenet_vocoder==0.1.1
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import training_parity as parity
from peer_process import PeerProcess
from peer_weights import load_r9y9_wavenet
from wavegrad_training_parity import copy_synthesis, utterances

from ttszoo.audio import AudioConfig
from ttszoo.data import records
from ttszoo.evaluation.spectral import utterance_features
from ttszoo.models import get_model
from ttszoo.training import parse_gin
from ttszoo.training.schedule_search import held_out_batch

SIZES = ("n_mels", "hop_length", "residual_channels", "gate_channels", "skip_channels",
         "kernel_size", "num_layers", "dilation_cycle", "condition_channels",
         "condition_kernel_size", "num_mixtures", "num_classes", "log_scale_min")  # fmt: skip


def window(utterance, start, context, segment, hop):
    """The window of the segment starting at frame ``start``: ``mel [W + 4, M]`` (two extra
    frames each side), ``previous [W hop]`` and ``targets [W hop]``, ``W = context + segment``."""
    mel, audio = utterance
    first, last = (start - context) * hop, (start + segment) * hop
    return {"mel": mel[start - context - 2 : start + segment + 2],
            "previous": audio[first - 1 : last - 1], "targets": audio[first:last]}  # fmt: skip


def draw_window(utterance, model, rng):
    """A window at a uniform start that leaves the front end's frames inside the utterance."""
    context, segment = model.context_frames, model.segment_frames
    start = int(rng.integers(context + 2, utterance[0].shape[0] - segment - 2 + 1))
    return window(utterance, start, context, segment, model.hop_length)


def scored_from(model):
    """The first scored sample of a window: its context frames only give the receptive field."""
    return model.context_frames * model.hop_length


def condition_of(model, mel):
    """ttszoo's sample-rate conditioning [B, W hop, LG] of windows' ``mel [B, W + 4, M]``."""
    return model.window_condition(model.frame_conditioning(mel)[:, 1:-1])


def stack(windows):
    return {k: np.stack([w[k] for w in windows]) for k in windows[0]}


def training_batches(train, model, args, rng):
    """Endless batches of windows: shuffled epochs, one window per utterance."""
    usable = [u for u in train if u[0].shape[0] >= model.context_frames + model.segment_frames + 4]
    while True:
        order = rng.permutation(len(usable))
        for first in range(0, len(order) - args.batch_size + 1, args.batch_size):
            yield stack([draw_window(usable[i], model, rng)
                         for i in order[first : first + args.batch_size]])  # fmt: skip


class TtszooSide(parity.TtszooSide):
    """ttszoo's WaveNet with its own optimizer and an XLA-compiled step on given windows."""

    inputs = ("mel", "previous", "targets")

    def __init__(self, model, args):
        super().__init__(model, args)
        self.loss = tf.function(self.training_loss, jit_compile=bool(args.jit_compile))

    def training_loss(self, mel, previous, targets):
        condition, mask = condition_of(self.model, mel), tf.ones_like(targets)
        return self.model.window_losses(previous, targets, condition, mask)["loss"]

    def outputs_loss(self, params, targets):
        """ttszoo's NLL of the scored samples under given mixture parameters [B, S, 3M]."""
        skip = scored_from(self.model)
        nll = -self.model.distribution(params[:, skip:]).log_prob(targets[:, skip:])
        return float(tf.reduce_mean(nll))


def evaluate(step, ours, peer, held_out, work, twin=None):
    skip = scored_from(ours.model)
    reply = peer("heldout", inputs=parity.to_peer(held_out, work / "heldout.npz"), skip=skip,
                 output=str(work / "peer_params.npy"))  # fmt: skip
    peer_params = np.swapaxes(np.load(work / "peer_params.npy"), 1, 2)
    row = {
        "step": step,
        "heldout_nll": {
            "ttszoo": float(ours.loss(held_out["mel"], held_out["previous"], held_out["targets"])),
            "peer": reply["loss"],
        },
        "peer_nll_by_ttszoo_loss": ours.outputs_loss(peer_params, held_out["targets"]),
    }
    nll = row["heldout_nll"]
    if twin is not None:
        nll["twin"] = float(twin.loss(held_out["mel"], held_out["previous"], held_out["targets"]))
    twin_text = f"; twin {nll['twin']:.4f}, ratio {nll['ttszoo'] / nll['twin']:.3f}" if twin else ""
    print(f"step {step}: held-out NLL ttszoo {nll['ttszoo']:.4f} peer {nll['peer']:.4f} "
          f"(ratio {nll['ttszoo'] / nll['peer']:.3f}; peer by ttszoo's loss "
          f"{row['peer_nll_by_ttszoo_loss']:.4f}{twin_text})", flush=True)  # fmt: skip
    return row


def synthesis(ours, peer, args, audio_config, work):
    """Copy synthesis of held-out utterances by both sides, sampled with seed 0."""
    mel, audio = held_out_batch(args.records_dir, args.synthesis_utterances, args.synthesis_frames)
    references = [(utterance_features(a, audio_config), a) for a in audio.numpy()]
    waveforms = {side: [] for side in parity.SIDES}
    seconds = {side: [] for side in parity.SIDES}
    for utterance in mel.numpy():
        started = time.perf_counter()
        waveforms["ttszoo"].append(ours.model.generate(utterance[None], seed=0)[0].numpy())
        seconds["ttszoo"].append(time.perf_counter() - started)
        np.save(work / "mel.npy", utterance.T[None])
        started = time.perf_counter()
        peer("generate", mel=str(work / "mel.npy"), output=str(work / "audio.npy"), seed=0)
        seconds["peer"].append(time.perf_counter() - started)
        waveforms["peer"].append(np.load(work / "audio.npy")[0])
    return {
        side: dict(
            copy_synthesis(waveforms[side], references, audio_config), seconds=sum(seconds[side])
        )  # fmt: skip
        for side in parity.SIDES
    }


def build(args, audio_config, peer, work):
    """ttszoo's model at the recipe's size with the peer's initial weights, checked."""
    parse_gin([args.model_gin], [f"HOP_LENGTH = {audio_config.hop_length}",
                                 f"N_MELS = {audio_config.n_mels}"])  # fmt: skip
    model = get_model()
    model.build()
    if model.output_distribution != "logistic" or model.condition_kernel_size % 2 == 0:
        raise ValueError("The parity needs a mixture of logistics and an odd condition kernel.")
    sizes = {name: getattr(model, name) for name in SIZES}
    info = peer("init", sizes=sizes, threads=args.threads, seed=args.seed,
                weights=str(work / "weights.npz"), weight_norm=bool(args.peer_weight_norm))  # fmt: skip
    load_r9y9_wavenet(model, dict(np.load(work / "weights.npz")))
    rng = np.random.default_rng(args.seed)
    frames = model.context_frames + model.segment_frames
    samples = frames * model.hop_length
    inputs = {"mel": rng.standard_normal((2, frames + 4, model.n_mels)).astype(np.float32),
              "previous": rng.uniform(-1, 1, (2, samples)).astype(np.float32)}  # fmt: skip
    peer(
        "outputs", inputs=parity.to_peer(inputs, work / "check.npz"), output=str(work / "check.npy")
    )
    theirs = np.swapaxes(np.load(work / "check.npy"), 1, 2)
    ours = model.network(inputs["previous"], condition_of(model, inputs["mel"])).numpy()
    info["relative_error"] = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    if info["relative_error"] > 1e-4:
        raise RuntimeError(f"the two networks disagree: {info['relative_error']:.3g}")
    info["ttszoo_parameters"] = model.count_params()
    return model, info


def build_twin(model, seed):
    """A second ttszoo model of the same configuration, its weights one ulp from ``model``'s."""
    twin = get_model()
    twin.build()
    twin.set_weights(parity.one_ulp_away(model.get_weights(), seed))
    return twin


def figure(results, path):
    parity.figure(results, path, "r9y9/wavenet_vocoder", "nats per sample",
                  [("held-out NLL", "nats per sample", lambda row, side: row["heldout_nll"][side])])  # fmt: skip


def arguments():
    parser = parity.parser_with_common_options(
        __doc__.split("\n")[0],
        steps=400,
        eval_every=100,
        learning_rate=2e-3,
        clip_norm=1.0,
        jit_compile=1,
    )  # the demo recipe's
    parser.add_argument("--records_dir", default="/tmp/records16k")
    parser.add_argument("--model_gin", default="models/wavenet_small.gin")
    parser.add_argument("--peer_weight_norm", type=int, default=0,
                        help="1: r9y9's weight-normalised convolutions and initialisers")  # fmt: skip
    parser.add_argument("--adam_epsilon", type=float, default=1e-7, help="Keras' default")
    parser.add_argument("--held_out_windows", type=int, default=32)
    parser.add_argument("--synthesis_utterances", type=int, default=1)
    parser.add_argument("--synthesis_frames", type=int, default=48)
    return parity.parse(parser)


def main():
    args = arguments()
    work = Path(tempfile.mkdtemp(prefix="wavenet_parity_"))
    started, load_before = time.perf_counter(), os.getloadavg()
    features = records.read_features_file(args.records_dir)
    audio_config = AudioConfig(**features["audio_config"])
    peer = PeerProcess(args.peer_python, "wavenet_peer_worker.py")
    model, info = build(args, audio_config, peer, work)
    ours = TtszooSide(model, args)
    twin = TtszooSide(build_twin(model, args.seed), args) if args.twin else None
    peer("train_init", learning_rate=args.learning_rate, clip_norm=args.clip_norm,
         epsilon=args.adam_epsilon, epsilon_as=args.peer_epsilon)  # fmt: skip
    rng = np.random.default_rng(args.seed + 1)
    validation = [u for u in utterances(args.records_dir, "validation")
                  if u[0].shape[0] >= model.context_frames + model.segment_frames + 4]  # fmt: skip
    held_out = stack([draw_window(validation[i % len(validation)], model, rng)
                      for i in range(args.held_out_windows)])  # fmt: skip
    batches = training_batches(utterances(args.records_dir, "train"), model, args, rng)
    skip = scored_from(model)

    def train_peer(block):
        return peer("train", batches=parity.to_peer(stack(block), work / "batches.npz"), skip=skip)

    losses, seconds, evaluations = parity.train_alternating(
        args,
        batches,
        parity.with_twin(ours.train, twin),
        train_peer,
        lambda step: evaluate(step, ours, peer, held_out, work, twin),
    )
    copy = synthesis(ours, peer, args, audio_config, work)
    peer.close()

    results = {
        "peer": f"wavenet_vocoder 0.1.1 on torch {info['torch']} ({info['threads']} threads)",
        "tensorflow": tf.__version__,
        "parameters": {"ttszoo": info["ttszoo_parameters"], "peer": info["parameters"]},
        "relative_error": info["relative_error"],
        "window": {
            "context_frames": model.context_frames,
            "segment_frames": model.segment_frames,
            "hop_length": model.hop_length,
        },  # fmt: skip
        "train_loss_means": {  # per evaluation interval
            side: np.reshape(losses[side], (-1, args.eval_every)).mean(axis=1).tolist()
            for side in parity.SIDES
        },
        "copy_synthesis": copy,
        **parity.common_results(
            args, features, evaluations, "heldout_nll", (losses, seconds), started, load_before
        ),
    }
    parity.report(results, args, figure)
    print("| step | held-out NLL ttszoo | peer | ratio | peer by ttszoo's loss "
          "| training NLL since the last row, ttszoo | peer |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    means = results["train_loss_means"]
    for i, (row, ratio) in enumerate(zip(evaluations, results["heldout_ratio"], strict=True)):
        nll = row["heldout_nll"]
        trained = f"{means['ttszoo'][i - 1]:.4f} | {means['peer'][i - 1]:.4f}" if i else "– | –"
        print(f"| {row['step']} | {nll['ttszoo']:.4f} | {nll['peer']:.4f} | {ratio:.3f} | "
              f"{row['peer_nll_by_ttszoo_loss']:.4f} | {trained} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
