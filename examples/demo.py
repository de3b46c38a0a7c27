"""The README's main job: a DCTTS that speaks a sentence it never heard, trained on your CPU.

Builds the eSpeak NG demo corpus (no download), preprocesses it with the demo features
(recipes/dctts/demo_features.gin: 16 kHz, 80 mel and 257 linear bins) and eSpeak NG phonemes as
the text symbols (the corpus is eSpeak NG speech, so its phonemes name its sounds), trains the small
Text2Mel (recipes/dctts/text2mel_demo.gin), then synthesizes a held-out sentence (one of
``ttszoo.data.held_out_sentences()``, in no recording of the corpus) frame by frame and writes
the wav and its attention alignment.

The audio comes from Griffin-Lim on Text2Mel's mel: at the demo's budget that reads better
than SSRN (docs/dctts.md, "Does it read?": an SSRN trained for 400 steps loses most of what
tells the sentences apart). ``--ssrn_steps N`` also trains SSRN (recipes/dctts/ssrn_demo.gin)
for N steps and uses it.

    python examples/demo.py --out demo_output

Running it again resumes the model directories (and reuses the corpus and records).
"""

import argparse
import json
import os
import time
from pathlib import Path

import gin
import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo.audio import AudioConfig, save_wav
from ttszoo.data import build_demo_corpus, held_out_sentences, preprocess_corpus
from ttszoo.synthesis import Synthesizer
from ttszoo.text import Tokenizer
from ttszoo.training import parse_gin, train
from ttszoo.training.model_dir import ModelDirectory


def plot_alignment(alignment, text, path):
    """Saves an attention alignment ``[N symbols, T frames]`` as a PNG picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4))
    image = axis.imshow(alignment, origin="lower", aspect="auto", interpolation="none")
    axis.set(title=text, xlabel="decoder frame (every 4th mel frame)", ylabel="text symbol")
    figure.colorbar(image, ax=axis, label="attention")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


SYMBOLS = "phonemes"
"""The demo's text symbols; recipes/dctts/text2mel_demo.gin sets the matching VOCAB_SIZE."""


def records_ready(records):
    """Whether ``records`` holds a finished preprocessing with the demo's text symbols."""
    features = records / "features.json"
    if not features.exists():
        return False
    return json.loads(features.read_text()).get("tokenizer", {}).get("symbols") == SYMBOLS


def train_model(recipe, model_dir, records, steps):
    params = [] if steps is None else [f"train.steps = {steps}"]
    parse_gin([recipe], params, operative_config=ModelDirectory(model_dir).operative_config())
    return train(model_dir=str(model_dir), records_dir=str(records))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="demo_output", help="folder for everything it writes")
    parser.add_argument("--text2mel_steps", type=int, help="default: the recipe's train.steps")
    parser.add_argument(
        "--ssrn_steps",
        type=int,
        default=0,
        help="train SSRN for this many steps and use it (default 0: Griffin-Lim on the mel)",
    )
    parser.add_argument("--sentence", type=int, default=0, help="index of the held-out sentence")
    parser.add_argument(
        "--corpus",
        choices=("small", "large"),
        default="small",
        help="demo corpus size: 332 hand-written sentences, or 3000 (recipes/dctts/"
        "text2mel_cpu_hour.gin trains on it)",
    )
    parser.add_argument(
        "--text2mel_recipe", default="recipes/dctts/text2mel_demo.gin", help="Text2Mel's gin file"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    out = Path(args.out)
    suffix = "" if args.corpus == "small" else f"_{args.corpus}"
    corpus = build_demo_corpus(out / f"corpus{suffix}", size=args.corpus)
    parse_gin(["recipes/dctts/demo_features.gin"])
    audio_config = gin.get_configurable(AudioConfig)()
    records = out / f"records{suffix}"
    if not records_ready(records):
        tokenizer = Tokenizer(symbols=SYMBOLS)
        print(preprocess_corpus(corpus, records, audio_config, tokenizer, include=("linear",)))
    t2m, ssrn = out / "text2mel", None
    logs = train_model(args.text2mel_recipe, t2m, records, args.text2mel_steps)
    print(f"Text2Mel: step {logs['step']}, mel L1 {logs.get('mel_l1', float('nan')):.4f}")
    if args.ssrn_steps > 0:
        ssrn = out / "ssrn"
        logs = train_model("recipes/dctts/ssrn_demo.gin", ssrn, records, args.ssrn_steps)
        print(f"SSRN: step {logs['step']}, linear L1 {logs.get('linear_l1', float('nan')):.4f}")

    sentence = held_out_sentences()[args.sentence]
    synthesizer = Synthesizer.from_model_dirs(str(t2m), vocoder=ssrn and str(ssrn))
    waveform, sample_rate, outputs = synthesizer.synthesize(sentence, return_outputs=True)
    frames = int(outputs["reduced_length"][0])
    wav = save_wav(out / "held_out.wav", waveform, sample_rate)
    plot_alignment(outputs["alignment"][0, :, :frames].numpy(), sentence, out / "alignment.png")
    minutes = (time.perf_counter() - started) / 60
    print(
        f"\nSynthesized the held-out sentence {sentence!r} ({len(waveform) / sample_rate:.1f} s, "
        f"{frames} decoder frames) in {minutes:.1f} min on {os.cpu_count()} CPU cores.\n"
        f"  audio:     {wav}\n  alignment: {out / 'alignment.png'}\n"
        f"  models:    {t2m}{f' and {ssrn}' if ssrn else ''} (TensorBoard logs and samples inside)"
    )


if __name__ == "__main__":
    main()
