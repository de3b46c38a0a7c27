"""WaveGrad Base inference speed: ttszoo (TensorFlow, XLA) against lmnt-com/wavegrad (PyTorch).

1 s of 22.05 kHz audio (74 frames of hop 300 = 22,200 samples), batch 1, the 6-iteration
schedule ``wavegrad-6`` for both, on the CPU. The peer is ``wavegrad==0.1.5``'s model class
driven by ``benchmarks/wavegrad_peer_worker.py`` in its own virtual environment (it is never a
ttszoo dependency); both live in their own process and take turns, one timed run at a time.

Both models get the same weights (the peer's initial weights, copied into ttszoo) and
lmnt's unscaled noise-level encoding (``noise_scale=1``), so one network pass is checked to
agree before anything is timed. Reported: median seconds per utterance and the ratio
ttszoo / peer in float32 and bf16 (ttszoo: ``mixed_bfloat16`` with ``inference_xla="auto"``,
which on a CPU runs TensorFlow's oneDNN kernels without XLA, and also with XLA forced; peer:
``torch.autocast``), the
log-mel distance between ttszoo's bf16 and float32 audio (same seed, same weights) next to
the distance between two float32 runs with different seeds (the sampler's own noise), the
analytic FLOP count of one network pass, achieved GFLOP/s, and a measured matmul peak.

    python benchmarks/vocoder_speed.py --peer_python /work/peer_venv/bin/python --rounds 5

Set up the peer once:
    python3 -m venv /work/peer_venv
    /work/peer_venv/bin/pip install torch==2.13.0 numpy
    /work/peer_venv/bin/pip install --no-deps wavegrad==0.1.5
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from wavegrad_peer import PeerProcess, load_torch_weights, network_disagreement

from ttszoo.diffusion import NoiseSchedule
from ttszoo.evaluation.logmel import log_mel_distance
from ttszoo.models import WaveGrad

SAMPLE_RATE, HOP, FRAMES, N_MELS = 22050, 300, 74, 128
# Largest log-mel L1 between bf16 and float32 audio (same seed) we accept: well under the
# seed-to-seed distance of the sampler itself (about 0.3).
BF16_LOGMEL_BOUND = 0.05


def conv_flops(samples, model, n_mels):
    """Multiply-adds x 2 of every convolution in one network pass on ``samples`` samples."""
    total = 2 * 5 * 1 * model.downsample_channels[0] * samples  # audio_conv
    length, channels = samples, model.downsample_channels[0]
    levels = [(length, channels)]
    for dblock in model.dblocks:
        total += 2 * channels * dblock.channels * length  # 1x1 residual before downsampling
        length //= dblock.factor
        total += 2 * 3 * (channels + 2 * dblock.channels) * dblock.channels * length
        channels = dblock.channels
        levels.append((length, channels))
    for film, (length, channels) in zip(model.films, levels, strict=True):
        total += 2 * 3 * channels * (channels + 2 * film.channels) * length
    frames = samples // model.hop_length
    total += 2 * 3 * n_mels * model.mel_channels * frames
    length, channels = frames, model.mel_channels
    for ublock in model.ublocks:
        length *= ublock.factor
        c = ublock.channels
        total += 2 * channels * c * length + 2 * 3 * (channels * c + 3 * c * c) * length
        channels = c
    return total + 2 * 3 * channels * 1 * samples


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


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer_python", default="/work/peer_venv/bin/python")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args()
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
    for run in runs.values():  # warm up: XLA compilation, oneDNN primitives
        run()
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            seconds, out = timed(run)
            times[name].append(out["seconds"] if isinstance(out, dict) else seconds)
    medians = {name: statistics.median(values) for name, values in times.items()}

    audio_f32 = f32.vocode(mel_tensor, seed=0)["audio"]
    audio_f32_other_seed = f32.vocode(mel_tensor, seed=1)["audio"]
    audio_bf16 = bf16.vocode(mel_tensor, seed=0)["audio"]
    bf16_distance = float(log_mel_distance(audio_bf16, audio_f32, SAMPLE_RATE)[0])
    seed_distance = float(log_mel_distance(audio_f32_other_seed, audio_f32, SAMPLE_RATE)[0])

    peer.close()
    flops = conv_flops(FRAMES * HOP, f32, N_MELS)
    passes = schedule.num_steps
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
        "ratio_float32": medians["ttszoo float32"] / medians["peer float32"],
        "ratio_bf16": medians["ttszoo bf16"] / medians["peer bf16"],
        "ratio_bf16_vs_peer_float32": medians["ttszoo bf16"] / medians["peer float32"],
        "ttszoo_bf16_uses_xla": bf16.uses_xla_for_inference(),
        "logmel_bf16_vs_float32": bf16_distance,
        "logmel_float32_seed0_vs_seed1": seed_distance,
        "bf16_within_bound": bf16_distance < BF16_LOGMEL_BOUND,
        "gflop_per_pass": flops / 1e9,
        "gflop_per_pass_per_audio_second": flops / 1e9 / (FRAMES * HOP / SAMPLE_RATE),
        "achieved_gflops": {name: flops * passes / medians[name] / 1e9 for name in medians},
        "matmul_peak_gflops": peaks,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(results, indent=1))
    print()
    print("| run | median s | ratio ttszoo/peer | achieved GFLOP/s |")
    print("|---|---|---|---|")
    for name, value in medians.items():
        ratio = results["ratio_float32"] if "float32" in name else results["ratio_bf16"]
        shown = f"{ratio:.2f}" if name.startswith("ttszoo") else ""
        print(f"| {name} | {value:.3f} | {shown} | {results['achieved_gflops'][name]:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
