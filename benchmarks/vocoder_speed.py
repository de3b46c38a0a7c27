"""WaveGrad Base inference speed: ttszoo (TensorFlow, XLA) against lmnt-com/wavegrad (PyTorch).

1 s of 22.05 kHz audio (74 frames of hop 300 = 22,200 samples), batch 1, the 6-iteration
schedule ``wavegrad-6`` for both, on the CPU. The peer is ``wavegrad==0.1.5``'s model class
driven by ``benchmarks/wavegrad_peer_worker.py`` in its own virtual environment (it is never a
ttszoo dependency); both live in their own process and take turns, one timed run at a time, in
an order that reverses every round (``timing.round_order``).

Both models get the same weights (the peer's initial weights, copied into ttszoo) and
lmnt's unscaled noise-level encoding (``noise_scale=1``), so one network pass is checked to
agree before anything is timed. Reported: median seconds per utterance of five runs, ttszoo
float32, bf16 (``mixed_bfloat16`` with ``inference_xla="auto"``, which on a CPU runs
TensorFlow's oneDNN kernels without XLA) and bf16 with XLA forced, peer float32 and bf16
(``torch.autocast``); each ttszoo run's ratio to the peer run of its precision (``PEER_RUN``);
the log-mel distance between ttszoo's bf16 and float32 audio (same seed, same weights) next to
the distance between two float32 runs with different seeds (the sampler's own noise); each
network's own convolution FLOPs per pass (ttszoo's from its layers, ``wavegrad_flops.py``; the
peer's counted by PyTorch, ``wavegrad_peer_flops.py``: lmnt runs its 1x1 residual convolutions
at the higher rate, so it does more), the GFLOP/s each run achieves with its own network's
FLOPs, and a measured matmul peak.

    python benchmarks/vocoder_speed.py --peer_python /work/peer_venv/bin/python --rounds 4

Set up the peer once:
    python3 -m venv /work/peer_venv
    /work/peer_venv/bin/pip install torch==2.13.0 numpy
    /work/peer_venv/bin/pip install --no-deps wavegrad==0.1.5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from timing import time_runs
from wavegrad_flops import wavegrad_conv_flops
from wavegrad_peer import PeerProcess, load_torch_weights, network_disagreement

from ttszoo.diffusion import NoiseSchedule
from ttszoo.evaluation.logmel import log_mel_distance
from ttszoo.models import WaveGrad

SAMPLE_RATE, HOP, FRAMES, N_MELS = 22050, 300, 74, 128
# Largest log-mel L1 between bf16 and float32 audio (same seed) we accept: well under the
# seed-to-seed distance of the sampler itself (about 0.3).
BF16_LOGMEL_BOUND = 0.05
# The peer run each ttszoo run is compared with: the same precision.
PEER_RUN = {
    "ttszoo float32": "peer float32",
    "ttszoo bf16": "peer bf16",
    "ttszoo bf16 with XLA": "peer bf16",
}


def matmul_peak(dtype, jit_compile, size=2048, repeats=7):
    """Best GFLOP/s of a ``size x size`` matmul, with XLA or with TensorFlow's oneDNN kernel."""
    a = tf.random.normal([size, size], dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x, y: tf.matmul(x, y), jit_compile=jit_compile)
    matmul(a, a).numpy()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        matmul(a, a).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def speed_rows(medians, flops_per_pass, passes):
    """The result table's rows from the measured medians, each row from its own measurement.

    Args:
      medians: run name -> median seconds per utterance, names starting with ``"ttszoo "`` or
        ``"peer "`` (ttszoo runs are those of ``PEER_RUN``).
      flops_per_pass: ``{"ttszoo": F, "peer": F}``, FLOPs of one pass of each side's network.
      passes: network passes per utterance (the schedule's iterations).

    Returns:
      one dict per run, in the order of ``medians``: ``run``, ``seconds``, ``ratio`` (the
      run's median over its peer run's, ``None`` for peer runs) and ``gflops`` (achieved
      GFLOP/s with the run's own side's FLOPs).
    """
    rows = []
    for name, seconds in medians.items():
        side = name.split()[0]
        peer = PEER_RUN.get(name)
        rows.append({
            "run": name,
            "seconds": seconds,
            "ratio": None if peer is None else seconds / medians[peer],
            "gflops": flops_per_pass[side] * passes / seconds / 1e9,
        })  # fmt: skip
    return rows


def markdown_table(rows):
    """``speed_rows`` as markdown lines; the ratio column names the peer run it divides by."""
    lines = ["| run | median s | ratio ttszoo / peer | achieved GFLOP/s |", "|---|---|---|---|"]
    for row in rows:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f} of {PEER_RUN[row['run']]}"
        lines.append(f"| {row['run']} | {row['seconds']:.3f} | {ratio} | {row['gflops']:.1f} |")
    return lines


def peer_flops(peer_python, samples):
    """FLOPs of one pass of the peer's network, counted by PyTorch in the peer's environment."""
    script = Path(__file__).with_name("wavegrad_peer_flops.py")
    result = subprocess.run(
        [peer_python, str(script), "--samples", str(samples)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])["flops"]


def build_ttszoo(policy, weights, inference_xla="auto"):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = WaveGrad(
            noise_scale=1.0, inference_iterations=6, chunk_frames=1024, inference_xla=inference_xla
        )
        model(tf.zeros([1, 600]), tf.zeros([1, 2, N_MELS]), tf.zeros([1]))
    finally:
        keras.config.set_dtype_policy(previous)
    load_torch_weights(model, weights)
    return model


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer_python", default="/work/peer_venv/bin/python")
    parser.add_argument("--rounds", type=int, default=4, help="Even: the order reverses.")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--json", default=None, help="Also write the results here.")
    return parser.parse_args()


def precision_distances(f32, bf16, mel):
    """Log-mel L1 of ttszoo's bf16 audio against float32 (same seed) and, for scale, of two
    float32 runs with different seeds (the sampler's own noise)."""
    audio_f32 = f32.vocode(mel, seed=0)["audio"]
    audio_f32_other_seed = f32.vocode(mel, seed=1)["audio"]
    audio_bf16 = bf16.vocode(mel, seed=0)["audio"]
    bf16_distance = float(log_mel_distance(audio_bf16, audio_f32, SAMPLE_RATE)[0])
    seed_distance = float(log_mel_distance(audio_f32_other_seed, audio_f32, SAMPLE_RATE)[0])
    return bf16_distance, seed_distance


def main():
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vocoder_speed_"))
    schedule = NoiseSchedule.inference(6)
    load_before = os.getloadavg()

    peer = PeerProcess(args.peer_python)
    info = peer(
        "init", betas=schedule.betas.tolist(), n_mels=N_MELS, threads=args.threads, seed=0,
        weights=str(tmp / "weights.npz"),
    )  # fmt: skip
    weights = dict(np.load(tmp / "weights.npz"))
    f32 = build_ttszoo("float32", weights)
    bf16 = build_ttszoo("mixed_bfloat16", weights)  # "auto": oneDNN without XLA on a CPU
    bf16_xla = build_ttszoo("mixed_bfloat16", weights, inference_xla=True)
    assert f32.count_params() == info["parameters"], (f32.count_params(), info)

    # One network pass must agree before anything is timed.
    rng = np.random.default_rng(0)
    audio = rng.uniform(-1, 1, (1, FRAMES * HOP)).astype(np.float32)
    mel = rng.uniform(0, 1, (1, FRAMES, N_MELS)).astype(np.float32)
    level = np.array([0.5], np.float32)
    eps_error = network_disagreement(peer, f32, tmp, audio, mel, level)
    assert eps_error < 1e-3, f"the two networks disagree (relative error {eps_error:.2g})"

    np.save(tmp / "mel.npy", mel.transpose(0, 2, 1))
    mel_tensor = tf.constant(mel)
    runs = {
        "ttszoo float32": lambda: f32.vocode(mel_tensor, seed=0)["audio"].numpy(),
        "peer float32": lambda: peer("run", mel=str(tmp / "mel.npy"), dtype="float32"),
        "ttszoo bf16": lambda: bf16.vocode(mel_tensor, seed=0)["audio"].numpy(),
        "peer bf16": lambda: peer("run", mel=str(tmp / "mel.npy"), dtype="bfloat16"),
        "ttszoo bf16 with XLA": lambda: bf16_xla.vocode(mel_tensor, seed=0)["audio"].numpy(),
    }
    times = time_runs(runs, args.rounds)
    medians = {name: statistics.median(values) for name, values in times.items()}

    bf16_distance, seed_distance = precision_distances(f32, bf16, mel_tensor)

    peer.close()
    flops = {
        "ttszoo": wavegrad_conv_flops(f32, FRAMES * HOP),
        "peer": peer_flops(args.peer_python, FRAMES * HOP),
    }
    passes = schedule.num_steps
    rows = speed_rows(medians, flops, passes)
    ratios = {row["run"]: row["ratio"] for row in rows if row["ratio"] is not None}
    peaks = {
        f"{name} {'XLA' if xla else 'oneDNN'}": matmul_peak(dtype, xla)
        for name, dtype in (("float32", tf.float32), ("bfloat16", tf.bfloat16))
        for xla in (True, False)
    }
    load_after = os.getloadavg()
    results = {
        "audio_seconds": FRAMES * HOP / SAMPLE_RATE,
        "iterations": passes,
        "parameters": info["parameters"],
        "peer": f"wavegrad 0.1.5 on torch {info['torch']} ({info['threads']} threads)",
        "tensorflow": tf.__version__,
        "eps_relative_error": eps_error,
        "rounds": args.rounds,
        "times": times,
        "medians": medians,
        "ratios_to_peer_run": ratios,
        "ratio_bf16_vs_peer_float32": medians["ttszoo bf16"] / medians["peer float32"],
        "ttszoo_bf16_uses_xla": bf16.uses_xla_for_inference(),
        "logmel_bf16_vs_float32": bf16_distance,
        "logmel_float32_seed0_vs_seed1": seed_distance,
        "bf16_within_bound": bf16_distance < BF16_LOGMEL_BOUND,
        "gflop_per_pass": {side: value / 1e9 for side, value in flops.items()},
        "achieved_gflops": {row["run"]: row["gflops"] for row in rows},
        "matmul_peak_gflops": peaks,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(results, indent=1))
    print()
    print("\n".join(markdown_table(rows)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
