"""Text to waveform from trained model directories.

    synthesizer = Synthesizer.from_model_dirs("runs/t2m", vocoder="runs/ssrn")
    waveform, sample_rate = synthesizer.synthesize("Hello there.")

The acoustic model (family ``acoustic``) turns text ids into a mel spectrogram
(``synthesize``); the vocoder (family ``vocoder``, ``vocode``) turns the mel into a waveform, or
into a linear spectrogram that Griffin-Lim turns into one (DCTTS' SSRN). Without a vocoder,
Griffin-Lim runs on the acoustic model's linear output, or on its mel mapped back to linear
frequencies through the pseudo-inverse of the mel filter bank.
"""

import numpy as np
import tensorflow as tf
from absl import logging
from tqdm import tqdm

from ttszoo import audio
from ttszoo.audio import tf_spectrogram
from ttszoo.audio.spectrogram import mel_basis
from ttszoo.errors import InvalidInputError
from ttszoo.text import Tokenizer
from ttszoo.text.files import read_utf8
from ttszoo.training.loading import load_trained_model

_COMPATIBLE_AUDIO_SETTINGS = (
    "sample_rate",
    "n_mels",
    "hop_length",
    "n_fft",
    "fmin",
    "fmax",
    "ref_db",
    "max_db",
)


def mel_to_linear(mel, audio_config):
    """Maps a normalised mel ``[B, T, n_mels]`` to a normalised linear ``[B, T, n_linear]``.

    Uses the pseudo-inverse of the mel filter bank on amplitudes (a least-squares estimate,
    floored at the amplitude floor); good enough for Griffin-Lim previews.
    """
    inverse = np.linalg.pinv(mel_basis(audio_config)).T.astype(np.float32)
    amplitude = tf_spectrogram.denormalize_db(tf.cast(mel, tf.float32), audio_config)
    linear = tf.maximum(tf.matmul(amplitude, inverse), 1e-5)
    return tf_spectrogram.normalize_db(linear, audio_config)


class Synthesizer:
    """Text -> waveform with an acoustic model and an optional vocoder.

    Args:
      acoustic: a ``TrainedModel`` of family ``acoustic``.
      vocoder: a ``TrainedModel`` of family ``vocoder``, or ``None`` for Griffin-Lim.
      griffin_lim_iters: Griffin-Lim iterations (default: the audio config's).
    """

    def __init__(self, acoustic, vocoder=None, griffin_lim_iters=None):
        if acoustic.info.family != "acoustic":
            raise InvalidInputError(
                f"{acoustic.directory.path} holds {acoustic.info.name!r}, a {acoustic.info.family} "
                "model; give an acoustic model (text -> spectrogram) as the acoustic model."
            )
        if vocoder is not None and vocoder.info.family != "vocoder":
            raise InvalidInputError(
                f"{vocoder.directory.path} holds {vocoder.info.name!r}, a {vocoder.info.family} "
                "model; give a vocoder (spectrogram -> audio) as the vocoder."
            )
        if acoustic.tokenizer_config is None:
            raise InvalidInputError(
                f"{acoustic.directory.path} has no features.json with the tokenizer settings; it "
                "was trained without records_dir. Copy the records folder's features.json into it."
            )
        self.acoustic = acoustic
        self.vocoder = vocoder
        self.tokenizer = Tokenizer.from_config(acoustic.tokenizer_config)
        self.audio_config = acoustic.audio_config if vocoder is None else vocoder.audio_config
        if vocoder is not None:
            differing = [
                f"{name}: {getattr(acoustic.audio_config, name)} (acoustic) vs {getattr(vocoder.audio_config, name)} (vocoder)"
                for name in _COMPATIBLE_AUDIO_SETTINGS
                if getattr(acoustic.audio_config, name) != getattr(vocoder.audio_config, name)
            ]
            if differing:
                raise InvalidInputError(
                    "The acoustic model and the vocoder were trained on different features: "
                    + "; ".join(differing)
                    + ". Train them on the same preprocessed records."
                )
        self.griffin_lim_iters = griffin_lim_iters

    @classmethod
    def from_model_dirs(cls, acoustic, vocoder=None, griffin_lim_iters=None):
        """Loads the newest checkpoints of the acoustic (and vocoder) model directories."""
        acoustic_model = load_trained_model(acoustic)
        vocoder_model = None if vocoder is None else load_trained_model(vocoder)
        return cls(acoustic_model, vocoder_model, griffin_lim_iters)

    @property
    def sample_rate(self):
        return self.audio_config.sample_rate

    def encode(self, text):
        """Text -> int32 ids ``[1, N]`` (a ValueError for empty or unusable text)."""
        return tf.constant([self.tokenizer.encode(text)], tf.int32)

    def synthesize_ids(self, text_ids):
        """Text ids ``[B, N]`` -> dict with ``"audio"`` ``[B, S]`` and the acoustic outputs."""
        outputs = dict(self.acoustic.model.synthesize(text_ids))
        if "mel" not in outputs:
            raise InvalidInputError(
                f"{self.acoustic.info.name}.synthesize() must return a 'mel' entry."
            )
        source = outputs
        if self.vocoder is not None:
            source = dict(self.vocoder.model.vocode(outputs["mel"]))
            outputs.update({f"vocoder_{k}": v for k, v in source.items()})
        if "audio" in source:
            outputs["audio"] = source["audio"]
        else:
            linear = source.get("linear")
            if linear is None:
                linear = mel_to_linear(outputs["mel"], self.audio_config)
            outputs["audio"] = audio.griffin_lim(
                linear, self.audio_config, iterations=self.griffin_lim_iters
            )
        return outputs

    def synthesize(self, text, return_outputs=False):
        """Text -> ``(waveform float32 [num_samples], sample_rate)`` (plus the outputs dict)."""
        outputs = self.synthesize_ids(self.encode(text))
        waveform = np.asarray(outputs["audio"][0], np.float32)
        if return_outputs:
            return waveform, self.sample_rate, outputs
        return waveform, self.sample_rate

    def synthesize_to_file(self, text, path):
        """Synthesizes ``text`` into the wav file ``path``; returns the path."""
        waveform, sample_rate = self.synthesize(text)
        return audio.save_wav(path, waveform, sample_rate)

    def synthesize_file(self, text_file, out_dir, progress=True):
        """Synthesizes each non-empty line of ``text_file`` into ``out_dir/0001.wav`` ...

        Returns:
          The list of paths written, in line order.
        """
        lines = [line.strip() for line in read_utf8(text_file).splitlines() if line.strip()]
        if not lines:
            raise InvalidInputError(f"{text_file} holds no text; give one sentence per line.")
        paths = []
        for index, line in enumerate(tqdm(lines, unit="line", disable=not progress), start=1):
            path = f"{out_dir}/{index:04d}.wav"
            self.synthesize_to_file(line, path)
            paths.append(path)
        logging.info("Wrote %d files to %s.", len(paths), out_dir)
        return paths
