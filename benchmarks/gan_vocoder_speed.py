"""Real-time factors of the GAN vocoders on the CPU (HiFi-GAN V1 and V3, Vocos), against their
PyTorch peers when ``--peer_python`` names the peers' virtual environment.

Batch 1, 1 s and 10 s of 22.05 kHz audio (hop 256, 80 mel bands, a random log-mel-like input),
float32 and bf16 two ways, each against its PyTorch counterpart: ``mixed_bfloat16`` (Keras'
mixed policy: float32 weights cast to bf16 at every call) against ``torch.autocast``, and
``bfloat16`` (Keras' bf16 policy: the weights stored in bf16, cast once) against the peer's model
converted to bf16 (Vocos' inverse STFT stays float32 on both sides).

ttszoo runs ``vocode`` (what users call; its default 2048-frame chunks take both lengths in one
pass) inside one ``tf.function``, by default through TensorFlow's oneDNN kernels without XLA
(``--xla on`` compiles it): on this CPU XLA was slower for every model, float32 and bf16
(HiFi-GAN V1 float32 at 10 s: 0.295 against 0.256 s per second of audio; XLA's exact GELU is
slow and it has no bf16 gain, docs/benchmarks.md).
The peers (benchmarks/gan_peer_worker.py, their own process) run one forward pass:

* HiFi-GAN V1 and V3: ``parallel-wavegan``'s ``HiFiGANGenerator`` (weight norm removed);
* Vocos: ``vocos``' ``VocosBackbone`` and ``ISTFTHead`` ("same" padding), as ``Vocos.decode``.

With a peer, ttszoo gets the peer's initial weights (``benchmarks/peer_weights.py``: weight
norms folded, kernels transposed to Keras' layouts), the parameter counts must be equal, and
before anything is timed the float32 audio of both must agree (largest difference under
``AGREEMENT`` of the largest sample); the bf16 differences are reported. Then each
measurement is one warm-up per side (the agreement run) and ``--rounds`` rounds of
``ttszoo, peer, peer, ttszoo``, one timed run at a time; the peer reports the seconds of its
forward pass, ttszoo's are the ``vocode`` call with the audio fetched. Reported: median and
best seconds per utterance, the real-time factor (median seconds of compute per second of
audio) and the ratio ttszoo / peer of the medians, with the 1-minute load average.

    python benchmarks/gan_vocoder_speed.py --peer_python /work/peer_venv/bin/python --rounds 1
    python benchmarks/gan_vocoder_speed.py --rounds 2      # ttszoo alone, its initial weights

``--ttszoo_intra_threads 1 --frame_groups 2`` runs ttszoo with one intra-op thread and Vocos'
per-frame work in two independent groups (``ConvNeXtBlock``), the low-latency setting of
docs/vocoders_gan.md; the peer keeps ``--threads``.

Set up the peers once (never ttszoo dependencies; ``--no-deps`` keeps out the training and
pretrained-model packages the model classes do not need; parallel-wavegan's ``setup.py``
imports pip, hence ``--no-build-isolation``):

    python3 -m venv /work/peer_venv
    /work/peer_venv/bin/pip install torch==2.13.0 numpy scipy h5py pyyaml
    /work/peer_venv/bin/pip install --no-deps --no-build-isolation parallel-wavegan==0.6.1
    /work/peer_venv/bin/pip install --no-deps vocos==0.1.0
"""

import argparse
import json
import math
import os
import statistics
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from peer_process import PeerProcess
from peer_weights import load_parallel_wavegan_hifigan, load_vocos
from timing import seconds_of, time_runs

from ttszoo.models.hifigan import HiFiGAN
from ttszoo.models.vocos import Vocos

SAMPLE_RATE, HOP, N_MELS = 22050, 256, 80
# Largest float32 difference to the peer, relative to its largest sample, that we accept.
AGREEMENT = 1e-3
V3 = {
    "upsample_rates": (8, 8, 4),
    "upsample_kernel_sizes": (16, 16, 8),
    "initial_channels": 256,
    "resblock_type": "2",
    "resblock_kernel_sizes": (3, 5, 7),
    "resblock_dilations": ((1, 2), (2, 6), (3, 12)),
}
MODELS = {
    "hifigan_v1": lambda: HiFiGAN(n_mels=N_MELS),
    "hifigan_v3": lambda: HiFiGAN(n_mels=N_MELS, **V3),
    "vocos": lambda frame_groups=1: Vocos(
        n_mels=N_MELS, hop_length=HOP, n_fft=1024, frame_groups=frame_groups
    ),
}
WEIGHT_LOADERS = {
    "hifigan_v1": load_parallel_wavegan_hifigan,
    "hifigan_v3": load_parallel_wavegan_hifigan,
    "vocos": load_vocos,
}
# The peer's dtype for each Keras dtype policy (module docstring).
TORCH_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "bfloat16": "bfloat16_weights"}


def build_model(name, precision, weights=None, frame_groups=1):
    """ttszoo's ``name`` under the dtype policy ``precision``, with the peer's ``weights``;
    ``frame_groups`` for Vocos (``ConvNeXtBlock``)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        model = MODELS[name](frame_groups) if name == "vocos" else MODELS[name]()
        model.generator.build((1, None, N_MELS))
    finally:
        keras.config.set_dtype_policy(previous)
    if weights is not None:
        WEIGHT_LOADERS[name](model.generator, weights)
    return model


def vocode_function(model, xla):
    """``vocode``'s audio in one ``tf.function``, XLA-compiled if ``xla``."""
    return tf.function(lambda mel: model.vocode(mel)["audio"], jit_compile=xla)


def relative_error(ours, theirs):
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def summary(prefix, times, audio_seconds):
    median = statistics.median(times)
    return {
        f"{prefix}_median_s": round(median, 4),
        f"{prefix}_best_s": round(min(times), 4),
        f"{prefix}_rtf": round(median / audio_seconds, 4),
    }


def measure(vocode, precision, seconds, rounds, peer=None, tmp=None):
    """One row: warm-ups (and agreement with the peer), then the timed rounds."""
    frames = math.ceil(seconds * SAMPLE_RATE / HOP)
    rng = np.random.default_rng(frames)
    mel = rng.uniform(-4.0, 1.0, (1, frames, N_MELS)).astype(np.float32)
    mel_tensor = tf.constant(mel)
    ours = vocode(mel_tensor).numpy()  # warm-up: tracing, XLA compilation
    audio_seconds = frames * HOP / SAMPLE_RATE
    row = {"audio_s": round(audio_seconds, 3), "load_1min": os.getloadavg()[0]}

    def run_ours():
        return seconds_of(lambda: vocode(mel_tensor))

    if peer is None:
        row.update(summary("ttszoo", [run_ours() for _ in range(2 * rounds)], audio_seconds))
        return row
    mel_path, out_path = tmp / "mel.npy", tmp / "peer_audio.npy"
    np.save(mel_path, mel.transpose(0, 2, 1))  # PyTorch's [B, n_mels, T]
    dtype = TORCH_DTYPES[precision]
    peer("run", mel=str(mel_path), dtype=dtype, output=str(out_path))  # warm-up
    theirs = np.clip(np.load(out_path), -1.0, 1.0)  # vocode clips to [-1, 1]
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    row["relative_error_vs_peer"] = relative_error(ours, theirs)
    if precision == "float32":
        assert row["relative_error_vs_peer"] < AGREEMENT, f"ttszoo and the peer disagree: {row}"

    def run_theirs():
        return peer("run", mel=str(mel_path), dtype=dtype)["seconds"]

    # ttszoo, peer in even rounds and peer, ttszoo in odd ones (timing.round_order).
    times = time_runs(
        {"ttszoo": lambda: {"seconds": run_ours()}, "peer": lambda: {"seconds": run_theirs()}},
        2 * rounds,
    )
    our_times, peer_times = times["ttszoo"], times["peer"]
    row.update(summary("ttszoo", our_times, audio_seconds))
    row.update(summary("peer", peer_times, audio_seconds))
    row["ratio"] = round(row["ttszoo_median_s"] / row["peer_median_s"], 3)
    return row


def markdown_table(rows):
    lines = [
        "| model | precision | audio s | ttszoo s | ttszoo RTF | peer s | peer RTF | ratio "
        "| rel. error vs peer | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r["model"], r["precision"], r["audio_s"], r["ttszoo_median_s"], r["ttszoo_rtf"]]
        cells += [r.get(k, "") for k in ("peer_median_s", "peer_rtf", "ratio")]
        error = r.get("relative_error_vs_peer")
        cells += ["" if error is None else f"{error:.1e}", f"{r['load_1min']:.1f}"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer_python", default=None, help="The peers' venv's python.")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="Intra-op threads of both sides."
    )
    parser.add_argument(
        "--ttszoo_intra_threads", type=int, default=None,
        help="ttszoo's intra-op threads instead of --threads (its inter-op threads stay at "
        "TensorFlow's default, one per core)",
    )  # fmt: skip
    parser.add_argument(
        "--frame_groups", type=int, default=1, help="Vocos' frame groups (ConvNeXtBlock)"
    )
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--seconds", nargs="*", type=float, default=[1.0, 10.0])
    parser.add_argument("--precisions", nargs="*", default=list(TORCH_DTYPES))
    parser.add_argument("--xla", choices=["on", "off"], default="off")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
    ttszoo_threads = (
        args.threads if args.ttszoo_intra_threads is None else args.ttszoo_intra_threads
    )
    tf.config.threading.set_intra_op_parallelism_threads(ttszoo_threads)
    results = {
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "ttszoo_intra_threads": ttszoo_threads,
        "frame_groups": args.frame_groups,
        "load_average_before": os.getloadavg(),
    }
    print(json.dumps(results), flush=True)
    peer = None if args.peer_python is None else PeerProcess(args.peer_python, "gan_peer_worker.py")
    tmp = Path(tempfile.mkdtemp(prefix="gan_vocoder_speed_"))
    rows = []
    for name in args.models:
        weights = None
        if peer is not None:
            info = peer(
                "init", model=name, n_mels=N_MELS, threads=args.threads, seed=0,
                weights=str(tmp / "weights.npz"),
            )  # fmt: skip
            weights = dict(np.load(tmp / "weights.npz"))
            results["peer"] = f"torch {info['torch']} ({info['threads']} threads)"
        for precision in args.precisions:
            model = build_model(name, precision, weights, args.frame_groups)
            if peer is not None:
                assert model.generator.count_params() == info["parameters"], info
            vocode = vocode_function(model, args.xla == "on")
            for seconds in args.seconds:
                row = {"model": name, "precision": precision, "xla": args.xla}
                row.update(measure(vocode, precision, seconds, args.rounds, peer, tmp))
                rows.append(row)
                print(json.dumps(row), flush=True)
    if peer is not None:
        peer.close()
    results.update(rows=rows, tensorflow=tf.__version__, load_average_after=os.getloadavg())
    print(json.dumps({k: v for k, v in results.items() if k != "rows"}))
    print(markdown_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
