"""One accelerator check: every registered model's training and synthesis speed on the GPU or
TPU present, and WaveGrad against lmnt-com/wavegrad on the same GPU.

For every model of ttszoo (``demo_recipes.package_model_names()``; its demo recipe with one
length bucket, so every step has one static shape) and each precision (``mixed_bfloat16``;
also ``mixed_float16`` with dynamic loss scaling on a GPU), XLA-compiled training steps on the
demo corpus: compile seconds (the first steps), steps/s and examples/s over the timed steps,
and peak device memory (``tf.config.experimental.get_memory_info``). Then synthesis from the
barely trained bf16 model: acoustic models speak the first training utterance's text, vocoders
turn ``--vocode_seconds`` of its mel into audio; the real-time factor is wall seconds per
second of output (below 1 is faster than real time). Finally ``benchmarks/vocoder_speed.py``'s
comparison of WaveGrad Base against lmnt's wavegrad (same weights, 6 iterations, 1 s of audio),
here on the accelerator, when ``--peer_python`` names the peer's environment. The run stops
starting new measurements after ``--budget_s`` seconds (default 7 minutes, so it ends within 8).

    python benchmarks/accelerator_check.py --peer_python /work/peer_venv/bin/python --json out.json
    python benchmarks/accelerator_check.py --smoke     # any CPU, tiny, no XLA: checks the script

``--smoke`` runs each model for 2 steps at batch 2 in bf16 without XLA (compiling these steps
with XLA for the CPU takes minutes per model on a small machine: docs/distributed.md), with
short synthesis; its figures say nothing about accelerators. Set up the peer as
``benchmarks/vocoder_speed.py`` says (on a GPU, a CUDA build of torch).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from timing import time_runs

import gin
from ttszoo.audio import AudioConfig
from ttszoo.data import build_demo_corpus
from ttszoo.models import get_model_info
from ttszoo.training import demo_recipes
from ttszoo.training.tpu import connect_tpu_or_fall_back, tpu_device_files

SMOKE_PARAMS = {  # short synthesis for the smoke run: an untrained decoder never stops early
    "dctts_text2mel": ["Text2Mel.max_decoder_steps = 8"],
    "transformer_tts": ["TransformerTTS.max_synthesis_frames = 16"],
}


def find_device():
    """Returns ``(kind, device name for memory queries or None, strategy, note)``."""
    note = ""
    if tpu_device_files():
        strategy, reason = connect_tpu_or_fall_back("local")
        if reason is None:
            return "TPU", "TPU:0", strategy, note
        note = f"no TPU: {reason}"
    if tf.config.list_logical_devices("GPU"):
        return "GPU", "GPU:0", tf.distribute.get_strategy(), note
    return "CPU", None, tf.distribute.get_strategy(), note


def device_description(kind):
    if kind == "GPU":
        details = tf.config.experimental.get_device_details(
            tf.config.list_physical_devices("GPU")[0]
        )
        return details.get("device_name", "GPU")
    if kind == "TPU":
        return f"TPU, {len(tf.config.list_logical_devices('TPU'))} cores"
    return f"CPU, {os.cpu_count()} cores"


def peak_memory_mib(memory_device):
    if memory_device is None:
        return None
    return tf.config.experimental.get_memory_info(memory_device)["peak"] / 2**20


def reset_peak_memory(memory_device):
    if memory_device is not None:
        tf.config.experimental.reset_memory_stats(memory_device)


def train_speed(trainer, warmup_steps, timed_steps, memory_device):
    """Compiles and warms up with ``warmup_steps``, then times ``timed_steps`` more."""
    reset_peak_memory(memory_device)
    started = time.perf_counter()
    trainer.fit(warmup_steps)
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    logs = trainer.fit(timed_steps)  # no checkpoints: continues with the compiled step
    seconds = time.perf_counter() - started
    return {
        "compile_and_warmup_s": compile_seconds,
        "steps_per_s": timed_steps / seconds,
        "examples_per_s": timed_steps * trainer.global_batch_size / seconds,
        "peak_memory_mib": peak_memory_mib(memory_device),
        "loss": logs.get("loss"),
    }


def synthesis_speed(model, batch, audio_config, vocode_frames):
    """Real-time factor of ``model`` on the first utterance of ``batch`` (warm-up call first)."""
    info = get_model_info(model.registry_name)
    if info.family == "acoustic":
        text = batch["text"][:1, : int(batch["text_length"][0])]

        def run():
            return model.synthesize(text)
    else:
        mel = batch["mel"][:1, :vocode_frames]

        def run():
            return model.vocode(mel)

    run()
    started = time.perf_counter()
    outputs = {name: value.numpy() for name, value in run().items()}
    seconds = time.perf_counter() - started
    if "audio" in outputs:
        samples = outputs["audio"].shape[1]
    else:
        frames = outputs["mel"].shape[1] if "mel" in outputs else outputs["linear"].shape[1]
        if "mel_length" in outputs:
            frames = int(np.asarray(outputs["mel_length"]).reshape(-1)[0])
        samples = frames * audio_config.hop_length
    audio_seconds = samples / audio_config.sample_rate
    return {"synthesis_s": seconds, "output_audio_s": audio_seconds, "rtf": seconds / audio_seconds}


def check_model(name, precision, args, corpus, work, records_cache, strategy, memory_device):
    params = [f"BATCH_SIZE = {args.batch_size}"] if args.batch_size else []
    if args.smoke:
        params += SMOKE_PARAMS.get(name, [])
    demo_recipes.parse_static_demo_recipe(name, precision, params)
    audio_config = gin.get_configurable(AudioConfig)()
    key = repr(audio_config)
    if key not in records_cache:
        records_cache[key] = work / f"records{len(records_cache)}"
        demo_recipes.preprocess_for_parsed_recipe(corpus, records_cache[key], args.num_workers)
    dataset = demo_recipes.static_dataset(records_cache[key])
    trainer = demo_recipes.static_trainer(
        str(work / f"run_{name}_{precision}"),
        dataset,
        precision,
        strategy=strategy,
        jit_compile=not args.smoke,
    )
    result = {"model": name, "precision": precision, "batch": trainer.global_batch_size}
    result.update(train_speed(trainer, args.warmup_steps, args.steps, memory_device))
    if precision == "mixed_bfloat16":
        frames_per_second = audio_config.sample_rate / audio_config.hop_length
        vocode_frames = max(1, round(args.vocode_seconds * frames_per_second))
        batch = next(iter(dataset))
        result.update(synthesis_speed(trainer.model, batch, audio_config, vocode_frames))
    return result


def median_times(model, mel, peer, mel_path, dtype, rounds):
    """Median seconds of ttszoo's and the peer's 6-iteration vocoding, taking turns in an order
    that reverses every round."""

    def ours():
        model.vocode(mel, seed=0)["audio"].numpy()

    def theirs():
        return peer("run", mel=str(mel_path), dtype=dtype)

    times = time_runs({"ttszoo": ours, "peer": theirs}, rounds)  # warm-up, order reverses
    ttszoo_s, peer_s = statistics.median(times["ttszoo"]), statistics.median(times["peer"])
    return {"ttszoo_s": ttszoo_s, "peer_s": peer_s, "ratio": ttszoo_s / peer_s}


def wavegrad_against_peer(args, kind):
    """benchmarks/vocoder_speed.py's comparison, on ``kind``'s device."""
    sys.path.insert(0, str(Path(__file__).parent))
    import vocoder_speed

    device = "cuda" if kind == "GPU" else "cpu"
    tmp = Path(tempfile.mkdtemp(prefix="accelerator_peer_"))
    schedule = vocoder_speed.NoiseSchedule.inference(6)
    peer = vocoder_speed.PeerProcess(args.peer_python)
    try:
        info = peer(
            "init", betas=schedule.betas.tolist(), n_mels=vocoder_speed.N_MELS,
            threads=os.cpu_count(), seed=0, weights=str(tmp / "weights.npz"), device=device,
        )  # fmt: skip
        weights = dict(np.load(tmp / "weights.npz"))
        models = {
            "float32": vocoder_speed.build_ttszoo("float32", weights, inference_xla=True),
            "bfloat16": vocoder_speed.build_ttszoo("mixed_bfloat16", weights, inference_xla=True),
        }
        rng = np.random.default_rng(0)
        mel = rng.uniform(0, 1, (1, vocoder_speed.FRAMES, vocoder_speed.N_MELS)).astype(np.float32)
        np.save(tmp / "mel.npy", mel.transpose(0, 2, 1))
        mel_tensor = tf.constant(mel)
        times = {
            dtype: median_times(model, mel_tensor, peer, tmp / "mel.npy", dtype, args.peer_rounds)
            for dtype, model in models.items()
        }
    finally:
        peer.close()
    audio_seconds = vocoder_speed.FRAMES * vocoder_speed.HOP / vocoder_speed.SAMPLE_RATE
    return {"peer": f"wavegrad 0.1.5, torch {info['torch']} on {device}",
            "audio_seconds": audio_seconds, "times": times}  # fmt: skip


def print_table(results):
    print(
        "| model | precision | batch | compile s | steps/s | examples/s | peak MiB | synthesis RTF |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['model']} | {r['precision']} | error: {r['error']} |||||")
            continue
        memory = "n/a" if r["peak_memory_mib"] is None else f"{r['peak_memory_mib']:.0f}"
        rtf = f"{r['rtf']:.3g} ({r['output_audio_s']:.2f} s)" if "rtf" in r else ""
        print(
            f"| {r['model']} | {r['precision']} | {r['batch']} | {r['compile_and_warmup_s']:.1f} | "
            f"{r['steps_per_s']:.2f} | {r['examples_per_s']:.1f} | {memory} | {rtf} |"
        )


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="Tiny CPU run without XLA.")
    parser.add_argument("--steps", type=int, default=None, help="Timed steps (20; smoke 2).")
    parser.add_argument(
        "--warmup_steps", type=int, default=None, help="Compile + warm-up (3; smoke 1)."
    )
    parser.add_argument(
        "--batch_size", type=int, default=None, help="Global batch (recipe's; smoke 2)."
    )
    parser.add_argument(
        "--sentences", type=int, default=None, help="Demo corpus size (64; smoke 12)."
    )
    parser.add_argument(
        "--vocode_seconds", type=float, default=None, help="Vocoder input (1.0; smoke 0.05)."
    )
    parser.add_argument("--models", nargs="*", default=demo_recipes.package_model_names())
    parser.add_argument("--peer_python", default=None, help="lmnt wavegrad's venv python.")
    parser.add_argument("--peer_rounds", type=int, default=5)
    parser.add_argument("--budget_s", type=float, default=420.0)
    parser.add_argument("--num_workers", type=int, default=None, help="Preprocessing processes.")
    parser.add_argument("--json", default=None, help="Also write the results here.")
    args = parser.parse_args(argv)
    defaults = {"steps": (20, 2), "warmup_steps": (3, 1), "sentences": (64, 12),
                "batch_size": (None, 2), "vocode_seconds": (1.0, 0.05)}  # fmt: skip
    for name, (full, smoke) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, smoke if args.smoke else full)
    return args


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    kind, memory_device, strategy, note = find_device()
    precisions = ["mixed_bfloat16"] + (
        ["mixed_float16"] if kind == "GPU" and not args.smoke else []
    )
    work = Path(tempfile.mkdtemp(prefix="accelerator_check_"))
    corpus = build_demo_corpus(work / "corpus", limit=args.sentences, progress=False)
    report = {
        "device": device_description(kind),
        "note": note,
        "smoke": args.smoke,
        "tensorflow": tf.__version__,
        "load_average_before": os.getloadavg(),
        "results": [],
        "skipped": [],
    }
    records_cache = {}
    for name in args.models:
        for precision in precisions:
            if time.perf_counter() - started > args.budget_s:
                report["skipped"].append(
                    f"{name} {precision}: over the {args.budget_s:.0f} s budget"
                )
                continue
            try:
                result = check_model(
                    name, precision, args, corpus, work, records_cache, strategy, memory_device
                )
            except (tf.errors.OpError, ValueError, RuntimeError) as error:
                result = {
                    "model": name,
                    "precision": precision,
                    "error": f"{type(error).__name__}: {error}"[:300],
                }
            report["results"].append(result)
            print(json.dumps(result), flush=True)
    if args.peer_python is None:
        report["wavegrad_peer"] = (
            "skipped: no --peer_python (set up as benchmarks/vocoder_speed.py says)"
        )
    elif time.perf_counter() - started > args.budget_s:
        report["wavegrad_peer"] = f"skipped: over the {args.budget_s:.0f} s budget"
    else:
        report["wavegrad_peer"] = wavegrad_against_peer(args, kind)
    report["seconds"] = time.perf_counter() - started
    report["load_average_after"] = os.getloadavg()
    print(json.dumps({k: v for k, v in report.items() if k != "results"}, indent=1))
    print()
    print(f"{report['device']}, TensorFlow {report['tensorflow']}, {report['seconds']:.0f} s"
          + (" (smoke: no XLA, tiny; not an accelerator figure)" if args.smoke else ""))  # fmt: skip
    print_table(report["results"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 1 if any("error" in r for r in report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
