"""WaveGrad training parity: ttszoo (TensorFlow) and lmnt-com/wavegrad 0.1.5 (PyTorch) side by side.

Both models start from the same weights (the peer's initial weights, drawn by lmnt's own
initialisers and copied into ttszoo; one network pass is checked to agree) and lmnt's unscaled
noise-level encoding (``noise_scale=1``). This driver draws every random quantity of training
once, with numpy, and gives the same values to both sides, as lmnt's data loader and
``WaveGradLearner.train_step`` would draw them:

* batches: each epoch shuffles the training utterances that hold a whole crop, in batches of
  ``--batch_size`` (the rest of an epoch dropped); each utterance gives one crop of
  ``--crop_frames`` frames starting at a uniform frame;
* noise levels: a step ``s`` uniform in 1..1000 of the training schedule
  ``linspace(1e-6, 1e-2, 1000)``, then a level uniform between ``sqrt(alpha_bar_{s-1})`` and
  ``sqrt(alpha_bar_s)`` (the table both sides build, checked equal);
* Gaussian noise.

The optimizer is each side's own: lmnt's ``torch.optim.Adam(lr)`` with its global-norm clipping
of 1 (``max_grad_norm``), and ttszoo's ``make_optimizer`` (Keras Adam, ``global_clipnorm``),
at the same learning rate; the ttszoo step runs without XLA, as the CPU demo recipes train
(``--jit_compile 1`` compiles it: slower on this CPU, docs/wavegrad.md).
``--peer_epsilon keras`` (the default) gives lmnt's Adam ttszoo's epsilon where Keras adds it,
``torch`` keeps lmnt's (PyTorch's 1e-8); ``--twin`` trains a copy of ttszoo one ulp away
(benchmarks/training_parity.py).
The sides alternate blocks of ``--block`` steps (who goes first alternates too). Every
``--eval_every`` steps and before the first, both report:

* the held-out noise-prediction L1: the same crops of the validation utterances, with the
  same noise levels (spread evenly over the 1000 training steps) and noise for both; also per
  crop, and as a table over ``--noise_bands`` bands of noise levels (band 1: the least noise);
* copy-synthesis distances on ``--synthesis_utterances`` validation utterances vocoded from
  their recorded mels with the 6-iteration schedule ``wavegrad-6``: MCD and log-mel L1 as
  ``ttszoo evaluate`` measures them (DTW-aligned) and the frame-aligned log-mel distance of
  benchmarks/wavegrad_learning.py.

Reported besides: the training losses of every step and each side's median step time.

    python benchmarks/wavegrad_training_parity.py --records_dir /tmp/wgparity/records \\
        --steps 400 --eval_every 100 --json /tmp/wgparity/parity.json

Build the records with the WaveGrad demo recipe (hop 300, 80 mels):
    ttszoo corpus --out /tmp/wgparity/corpus --limit 120
    ttszoo preprocess --corpus_dir=/tmp/wgparity/corpus --out_dir=/tmp/wgparity/records \\
        --gin_file=recipes/wavegrad/demo.gin
The peer's virtual environment: see benchmarks/vocoder_speed.py.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import training_parity as parity
from wavegrad_peer import PeerProcess, load_torch_weights, network_disagreement, peer_sizes

from ttszoo.audio import AudioConfig
from ttszoo.data import make_dataset, records
from ttszoo.diffusion import NoiseSchedule
from ttszoo.evaluation.evaluator import distance
from ttszoo.evaluation.logmel import log_mel_distance
from ttszoo.evaluation.spectral import utterance_features
from ttszoo.models import get_model
from ttszoo.training import parse_gin
from ttszoo.training.schedule_search import held_out_batch

MODEL_GIN = {"demo": "models/wavegrad_small.gin", "base": "models/wavegrad.gin"}


def utterances(records_dir, split):
    """``[(mel [T, M], audio [T * hop])]`` float32 numpy, each cut to its length."""
    dataset = make_dataset(records_dir, split=split, batch_size=1, features=("mel", "audio"),
                           num_buckets=1, shuffle=False, repeat=False)  # fmt: skip
    out = []
    for batch in dataset:
        frames = int(batch["mel_length"][0])
        hop = batch["audio"].shape[1] // batch["mel"].shape[1]
        out.append((batch["mel"][0, :frames].numpy(), batch["audio"][0, : frames * hop].numpy()))
    return out


def crop(utterance, frames, hop, rng):
    """A crop of ``frames`` frames at a uniform start (lmnt's ``Collator.collate``)."""
    mel, audio = utterance
    start = int(rng.integers(0, mel.shape[0] - frames + 1))
    return mel[start : start + frames], audio[start * hop : (start + frames) * hop]


def noise_levels(table, steps, rng):
    """Uniform between ``table[s - 1]`` and ``table[s]`` for each step ``s`` (1-based)."""
    upper, lower = table[steps - 1], table[steps]
    return (upper + rng.random(steps.shape) * (lower - upper)).astype(np.float32)


def draws(mel, audio, level, rng):
    """The arrays one step (or one evaluation) needs, the noise drawn for ``audio``."""
    noise = rng.standard_normal(audio.shape).astype(np.float32)
    return {"mel": mel, "audio": audio, "level": level, "noise": noise}


def training_batches(train, args, hop, table, rng):
    """Endless lmnt-style batches: shuffled epochs, crops, levels, noise (see the docstring)."""
    usable = [u for u in train if u[0].shape[0] >= args.crop_frames]
    while True:
        order = rng.permutation(len(usable))
        for first in range(0, len(order) - args.batch_size + 1, args.batch_size):
            crops = [crop(usable[i], args.crop_frames, hop, rng)
                     for i in order[first : first + args.batch_size]]  # fmt: skip
            steps = rng.integers(1, len(table), args.batch_size)
            yield draws(np.stack([c[0] for c in crops]), np.stack([c[1] for c in crops]),
                        noise_levels(table, steps, rng), rng)  # fmt: skip


def held_out_crops(validation, args, hop, table, rng):
    """``--held_out_crops`` crops of the validation utterances, levels spread over the steps
    (``"step"``: each crop's step of the training schedule, 1-based)."""
    crops = [crop(validation[i % len(validation)], args.crop_frames, hop, rng)
             for i in range(args.held_out_crops)]  # fmt: skip
    steps = np.linspace(1, len(table) - 1, args.held_out_crops).round().astype(int)
    arrays = draws(np.stack([c[0] for c in crops]), np.stack([c[1] for c in crops]),
                   noise_levels(table, steps, rng), rng)  # fmt: skip
    return {**arrays, "step": steps}


def noise_bands(evaluations, steps, bands):
    """Held-out L1 per band of schedule steps: ``[{"step", "band", "ttszoo", "peer", ...}]``.

    ``steps`` ``[N]``: each held-out crop's schedule step; the crops are split into ``bands``
    equal runs of steps (band 1 holds the lowest steps: the least noise); each row has each
    side's mean L1 over the band's crops and ``ratio`` (ttszoo / peer).
    """
    order = np.argsort(steps, kind="stable")
    rows = []
    for row in evaluations:
        per_crop = {side: np.asarray(v) for side, v in row["heldout_l1_per_crop"].items()}
        for band, members in enumerate(np.array_split(order, bands), start=1):
            means = {side: float(values[members].mean()) for side, values in per_crop.items()}
            first, last = int(steps[members].min()), int(steps[members].max())
            rows.append({"step": row["step"], "band": band, "steps": [first, last], **means,
                         "ratio": means["ttszoo"] / means["peer"]})  # fmt: skip
    return rows


class TtszooSide(parity.TtszooSide):
    """ttszoo's WaveGrad with its own optimizer and its training step on given draws."""

    inputs = ("mel", "audio", "level", "noise")

    def training_loss(self, mel, audio, level, noise):
        return self.model.noise_prediction_loss(mel, audio, level, noise, training=True)

    def heldout(self, arrays):
        """Each held-out crop's noise-prediction L1 ``[N]`` (inference mode)."""
        names = ("mel", "audio", "level", "noise")
        return self.model.noise_prediction_loss(*(arrays[k] for k in names), per_crop=True).numpy()

    def vocode(self, mel, seed):
        return self.model.vocode(mel, seed=seed)["audio"].numpy()


def copy_synthesis(waveforms, references, audio_config):
    """Mean MCD and log-mel L1 (``ttszoo evaluate``'s, DTW) and the aligned log-mel distance."""
    scores = {"mcd": [], "logmel_l1": [], "logmel_aligned": []}
    for waveform, (features, recorded) in zip(waveforms, references, strict=True):
        synthesized = utterance_features(waveform, audio_config)
        for metric in ("mcd", "logmel_l1"):
            scores[metric].append(distance(metric, synthesized, features))
        aligned = log_mel_distance(waveform[None], recorded[None], audio_config.sample_rate)
        scores["logmel_aligned"].append(float(aligned[0]))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def evaluate(step, sides, held_out, synthesis, references, audio_config, work):
    """One evaluation row; ``sides`` is ``(ours, peer, twin or None)``."""
    ours, peer, twin = sides
    row = {"step": step}
    peer_inputs = parity.to_peer(held_out, work / "heldout.npz")
    per_crop = {
        "ttszoo": ours.heldout(held_out).tolist(),
        "peer": peer("heldout", inputs=peer_inputs)["l1_per_crop"],
    }
    if twin is not None:
        per_crop["twin"] = twin.heldout(held_out).tolist()
    row["heldout_l1"] = {side: float(np.mean(values)) for side, values in per_crop.items()}
    row["heldout_l1_per_crop"] = per_crop
    mel_path = work / "synthesis_mel.npy"
    np.save(mel_path, np.swapaxes(synthesis, 1, 2))
    peer("run", mel=str(mel_path), dtype="float32", output=str(work / "peer_audio.npy"), seed=0)
    row["copy_synthesis"] = {
        "ttszoo": copy_synthesis(ours.vocode(synthesis, 0), references, audio_config),
        "peer": copy_synthesis(np.load(work / "peer_audio.npy"), references, audio_config),
    }
    l1 = row["heldout_l1"]
    twin_text = f", twin {l1['twin']:.4f}" if twin is not None else ""
    print(f"step {step}: held-out L1 ttszoo {l1['ttszoo']:.4f} peer {l1['peer']:.4f}{twin_text} "
          f"(ratio {l1['ttszoo'] / l1['peer']:.3f}); MCD ttszoo "
          f"{row['copy_synthesis']['ttszoo']['mcd']:.2f} peer "
          f"{row['copy_synthesis']['peer']['mcd']:.2f}", flush=True)  # fmt: skip
    return row


def build(args, n_mels, betas, peer, work):
    """The peer's model at the chosen size and ttszoo's with the peer's weights, checked."""
    parse_gin([MODEL_GIN[args.model]], ["NOISE_SCALE = 1.0", "INFERENCE_ITERATIONS = 6",
                                        f"SEGMENT_FRAMES = {args.crop_frames}"])  # fmt: skip
    model = built_model(n_mels)
    info = peer(
        "init", betas=betas, n_mels=n_mels, threads=args.threads, seed=args.seed,
        weights=str(work / "weights.npz"), sizes=peer_sizes(model, n_mels),
    )  # fmt: skip
    load_torch_weights(model, dict(np.load(work / "weights.npz")))
    if model.count_params() != info["parameters"]:
        raise RuntimeError(f"parameter counts differ: {model.count_params()} and {info}")
    rng = np.random.default_rng(args.seed)
    frames = args.crop_frames
    inputs = (rng.uniform(-1, 1, (2, frames * model.hop_length)).astype(np.float32),
              rng.uniform(0, 1, (2, frames, n_mels)).astype(np.float32),
              np.array([0.3, 0.9], np.float32))  # fmt: skip
    info["eps_relative_error"] = network_disagreement(peer, model, work, *inputs)
    if info["eps_relative_error"] > 1e-3:
        raise RuntimeError(f"the two networks disagree: {info['eps_relative_error']:.3g}")
    table = model.training_schedule.noise_level_table
    if not np.allclose(table, info["training_noise_level_table"], rtol=0, atol=1e-12):
        raise RuntimeError("ttszoo's and lmnt's training noise-level tables differ")
    return model, info


def built_model(n_mels):
    """The parsed gin's WaveGrad, built by one call."""
    model = get_model()
    model(tf.zeros([1, model.hop_length * 2]), tf.zeros([1, 2, n_mels]), tf.zeros([1]))
    return model


def build_twin(model, args, n_mels):
    """A second ttszoo model of the same configuration, its weights one ulp from ``model``'s."""
    twin = built_model(n_mels)
    twin.set_weights(parity.one_ulp_away(model.get_weights(), args.seed))
    return twin


def figure(results, path):
    parity.figure(results, path, "lmnt-com/wavegrad", "L1", [
        ("held-out noise-prediction L1", "L1", lambda row, side: row["heldout_l1"][side]),
        ("copy synthesis, 6 iterations", "MCD (dB)",
         lambda row, side: row["copy_synthesis"].get(side, {}).get("mcd", np.nan)),
    ])  # fmt: skip


def main():
    parser = parity.parser_with_common_options(__doc__.split("\n")[0], steps=400, eval_every=100,
                                        learning_rate=2e-4, clip_norm=1.0, jit_compile=0)  # fmt: skip
    parser.add_argument("--records_dir", default="/tmp/wgparity/records")
    parser.add_argument("--model", choices=sorted(MODEL_GIN), default="demo",
                        help="demo: the quarter-width recipe model; base: WaveGrad Base")  # fmt: skip
    parser.add_argument(
        "--adam_epsilon", type=float, default=None,
        help="ttszoo's Adam epsilon (default: Keras' 1e-7, as the recipes use)",
    )  # fmt: skip
    parser.add_argument("--crop_frames", type=int, default=24, help="lmnt's crop_mel_frames")
    parser.add_argument("--held_out_crops", type=int, default=48)
    parser.add_argument("--noise_bands", type=int, default=4,
                        help="report the held-out L1 over this many bands of noise levels")  # fmt: skip
    parser.add_argument("--synthesis_utterances", type=int, default=2)
    parser.add_argument("--synthesis_frames", type=int, default=128)
    args = parity.parse(parser)
    work = Path(tempfile.mkdtemp(prefix="wavegrad_parity_"))
    started, load_before = time.perf_counter(), os.getloadavg()
    features = records.read_features_file(args.records_dir)
    audio_config = AudioConfig(**features["audio_config"])
    hop, n_mels = audio_config.hop_length, audio_config.n_mels

    peer = PeerProcess(args.peer_python)
    model, info = build(args, n_mels, NoiseSchedule.inference(6).betas.tolist(), peer, work)
    table = model.training_schedule.noise_level_table
    ours = TtszooSide(model, args)
    twin = TtszooSide(build_twin(model, args, n_mels), args) if args.twin else None
    epsilon = float(ours.optimizer.epsilon) if args.peer_epsilon == "keras" else None
    peer("train_init", learning_rate=args.learning_rate, max_grad_norm=args.clip_norm,
         epsilon=epsilon)  # fmt: skip

    rng = np.random.default_rng(args.seed + 1)
    held_out = held_out_crops(utterances(args.records_dir, "validation"), args, hop, table, rng)
    mel, audio = held_out_batch(args.records_dir, args.synthesis_utterances, args.synthesis_frames)
    synthesis = mel.numpy()
    references = [(utterance_features(a, audio_config), a) for a in audio.numpy()]
    batches = training_batches(utterances(args.records_dir, "train"), args, hop, table, rng)

    def train_peer(block):
        stacked = {k: np.stack([b[k] for b in block]) for k in block[0]}
        return peer("train", batches=parity.to_peer(stacked, work / "batches.npz"))

    losses, seconds, evaluations = parity.train_alternating(
        args, batches, parity.with_twin(ours.train, twin), train_peer,
        lambda step: evaluate(step, (ours, peer, twin), held_out, synthesis, references,
                              audio_config, work),
    )  # fmt: skip
    peer.close()

    results = {
        "model": args.model,
        "parameters": info["parameters"],
        "peer": f"wavegrad 0.1.5 on torch {info['torch']} ({info['threads']} threads)",
        "tensorflow": tf.__version__,
        "eps_relative_error": info["eps_relative_error"],
        **parity.common_results(
            args, features, evaluations, "heldout_l1", (losses, seconds), started, load_before
        ),
        "heldout_steps": held_out["step"].tolist(),
        "heldout_bands": noise_bands(evaluations, held_out["step"], args.noise_bands),
    }
    parity.report(results, args, figure)
    print("| step | held-out L1 ttszoo | peer | ratio | MCD ttszoo | peer "
          "| log-mel L1 ttszoo | peer |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for row, ratio in zip(evaluations, results["heldout_ratio"], strict=True):
        l1, cs = row["heldout_l1"], row["copy_synthesis"]
        print(f"| {row['step']} | {l1['ttszoo']:.4f} | {l1['peer']:.4f} | {ratio:.3f} | "
              f"{cs['ttszoo']['mcd']:.2f} | {cs['peer']['mcd']:.2f} | "
              f"{cs['ttszoo']['logmel_l1']:.3f} | {cs['peer']['logmel_l1']:.3f} |")  # fmt: skip
    print("\n| step | band | schedule steps | held-out L1 ttszoo | peer | ratio |")
    print("|---|---|---|---|---|---|")
    for band in results["heldout_bands"]:
        print(f"| {band['step']} | {band['band']} | {band['steps'][0]}-{band['steps'][1]} | "
              f"{band['ttszoo']:.4f} | {band['peer']:.4f} | {band['ratio']:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
