"""The README's main job: the offline demo corpus, preprocessed, shown and heard.

Builds the eSpeak NG demo corpus (no download), preprocesses it into TFRecords, then takes one
utterance and writes its mel-spectrogram picture and the waveform that Griffin-Lim rebuilds
from its linear spectrogram (the path every acoustic model's output takes without a neural
vocoder).

    python examples/demo.py --out demo_output
"""

import argparse
from pathlib import Path

import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo.audio import AudioConfig, griffin_lim, save_wav
from ttszoo.data import build_demo_corpus, make_dataset, preprocess_corpus
from ttszoo.data.records import read_features_file


def plot_mel(mel, text, path):
    """Saves a mel spectrogram ``[T, n_mels]`` as a PNG picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 3.5))
    image = axis.imshow(mel.T, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1)
    axis.set(title=text, xlabel="frame", ylabel="mel bin")
    figure.colorbar(image, ax=axis, label="normalised dB")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", default="demo_output", help="folder for the corpus, records, picture and wav"
    )
    args = parser.parse_args()
    out = Path(args.out)
    corpus = build_demo_corpus(out / "corpus")
    summary = preprocess_corpus(corpus, out / "records")
    print(summary)
    info = read_features_file(out / "records")
    config = AudioConfig.from_dict(info["audio_config"])
    batch = next(
        iter(
            make_dataset(
                out / "records",
                split="validation",
                batch_size=1,
                features=("text", "mel", "linear"),
                cache=False,
            )
        )
    )
    frames = int(batch["mel_length"][0])
    item_id = info["splits"]["validation"]["ids"][0]
    text = next(
        row.split("|")[1]
        for row in (corpus / "metadata.csv").read_text().splitlines()
        if row.startswith(item_id + "|")
    )
    plot_mel(batch["mel"][0, :frames].numpy(), f"{item_id}: {text}", out / "mel.png")
    save_wav(
        out / "griffin_lim.wav",
        griffin_lim(batch["linear"][0, :frames], config),
        config.sample_rate,
    )
    print(
        f"Wrote {out / 'mel.png'} (mel spectrogram of {item_id!r}) and {out / 'griffin_lim.wav'} (Griffin-Lim from its linear spectrogram)."
    )


if __name__ == "__main__":
    main()
