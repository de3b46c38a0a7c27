"""Samples a model draws during training, as TensorBoard summaries and as files.

A model's ``sample(batch)`` returns a dict with any of three entries, each a dict from a name
to a tensor for the first utterance of the batch:
  * ``"images"``: 2-D ``[rows, columns]`` arrays, drawn with rows upwards (``mel.T`` as
    ``[n_mels, T]``, an alignment as ``[N, T]``);
  * ``"audio"``: ``[num_samples]`` waveforms in [-1, 1];
  * ``"linear"``: ``[T, n_fft // 2 + 1]`` normalised linear spectrograms, turned into audio
    with Griffin-Lim.
They go to ``<model_dir>/samples/step-<step>/<name>.{png,wav}`` and to TensorBoard.
"""

import io
import tempfile

import numpy as np
import tensorflow as tf
from absl import logging

from ttszoo import audio
from ttszoo.training.tensorboard import write_audio, write_image

SAMPLE_KINDS = ("images", "audio", "linear")


def plot_png(array, title):
    """Draws a 2-D array (rows upwards) with a colour bar; returns PNG bytes, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        logging.log_first_n(
            logging.WARNING,
            "matplotlib is not installed: no image samples (pip install matplotlib).",
            1,
        )
        return None
    figure, axes = pyplot.subplots(figsize=(8, 3.5))
    image = axes.imshow(
        np.asarray(array, np.float32), aspect="auto", origin="lower", interpolation="none"
    )
    axes.set_title(title)
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    pyplot.close(figure)
    return buffer.getvalue()


def validate_samples(samples):
    """Raises a ValueError naming the problem if ``samples`` breaks the ``sample()`` contract."""
    if not isinstance(samples, dict) or set(samples) - set(SAMPLE_KINDS):
        raise ValueError(
            f"model.sample() must return a dict with keys among {SAMPLE_KINDS}, got "
            f"{sorted(samples) if isinstance(samples, dict) else type(samples).__name__}."
        )
    ranks = {"images": 2, "audio": 1, "linear": 2}
    for kind, entries in samples.items():
        for name, value in entries.items():
            if np.ndim(value) != ranks[kind]:
                raise ValueError(
                    f"model.sample()[{kind!r}][{name!r}] must have rank {ranks[kind]}, got shape "
                    f"{np.shape(value)}."
                )


def _save_wav(path, waveform, sample_rate):
    """``audio.save_wav`` through a local temporary file, so ``path`` may be on ``gs://``."""
    with tempfile.TemporaryDirectory() as scratch:
        local = audio.save_wav(f"{scratch}/sample.wav", waveform, sample_rate)
        tf.io.gfile.copy(str(local), path, overwrite=True)
    return path


def write_samples(samples, step, sample_dir, audio_config, writer=None):
    """Writes the samples as files under ``sample_dir`` and, with ``writer``, to TensorBoard.

    Returns:
      The list of files written.
    """
    samples = {
        kind: {n: np.asarray(v) for n, v in entries.items()} for kind, entries in samples.items()
    }
    validate_samples(samples)
    tf.io.gfile.makedirs(sample_dir)
    written = []
    waveforms = dict(samples.get("audio", {}))
    for name, linear in samples.get("linear", {}).items():
        waveforms[name] = audio.griffin_lim(linear, audio_config).numpy()
    for name, waveform in waveforms.items():
        written.append(_save_wav(f"{sample_dir}/{name}.wav", waveform, audio_config.sample_rate))
        if writer is not None:
            with writer.as_default():
                write_audio(f"samples/{name}", waveform, audio_config.sample_rate, step)
    for name, array in samples.get("images", {}).items():
        png = plot_png(array, f"{name} (step {step})")
        if png is None:
            continue
        path = f"{sample_dir}/{name}.png"
        with tf.io.gfile.GFile(path, "wb") as stream:
            stream.write(png)
        written.append(path)
        if writer is not None:
            with writer.as_default():
                write_image(f"samples/{name}", png, step)
    return written
