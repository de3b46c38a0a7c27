"""Text to waveform from trained model directories.

    synthesizer = Synthesizer.from_model_dirs("runs/t2m", vocoder="runs/ssrn")
    waveform, sample_rate = synthesizer.synthesize("Hello there.")
    waveform, sample_rate = synthesizer.synthesize_paragraph("A paragraph. Of sentences.")

The acoustic model (family ``acoustic``) turns text ids into a mel spectrogram
(``synthesize``); the vocoder (family ``vocoder``, ``vocode``) turns the mel into a waveform, or
into a linear spectrogram that Griffin-Lim turns into one (DCTTS' SSRN). Without a vocoder,
Griffin-Lim runs on the acoustic model's linear output, or on its mel mapped back to linear
frequencies through the pseudo-inverse of the mel filter bank.

``synthesize_paragraph`` reads text of any length: it splits the text into sentences and
over-long sentences at clause boundaries (``ttszoo.text.segmentation``), synthesizes the
pieces as padded batches (``[B, N]`` ids, 0 = padding, cut back to each piece's own
``mel_length``) and joins them with short pauses.
"""

import dataclasses

import numpy as np
import tensorflow as tf
from absl import logging
from tqdm import tqdm

from ttszoo import audio
from ttszoo.audio import tf_spectrogram
from ttszoo.audio.spectrogram import mel_basis
from ttszoo.data.features import FeatureError
from ttszoo.errors import InvalidInputError
from ttszoo.text import Tokenizer
from ttszoo.text.files import read_utf8
from ttszoo.text.segmentation import CLAUSE, SENTENCE, segment_text
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


DEFAULT_MAX_SYMBOLS = 180
"""The longest piece ``synthesize_paragraph`` gives a model without ``max_text_length`` (dc_tts')."""


@dataclasses.dataclass(frozen=True)
class SpokenSegment:
    """Where one piece of a paragraph lies in the joined waveform.

    Attributes:
      text: the piece (see ``ttszoo.text.segmentation.Segment``).
      boundary: ``"sentence"``, ``"clause"`` or ``"word"``: what ends it.
      start, stop: its samples are ``waveform[start:stop]``; the pause follows.
    """

    text: str
    boundary: str
    start: int
    stop: int


def mel_to_linear(mel, audio_config):
    """Maps a normalised mel ``[B, T, n_mels]`` to a normalised linear ``[B, T, n_linear]``.

    Uses the pseudo-inverse of the mel filter bank on amplitudes (a least-squares estimate,
    floored at the amplitude floor); good enough for Griffin-Lim previews.
    """
    inverse = np.linalg.pinv(mel_basis(audio_config)).T.astype(np.float32)
    amplitude = tf_spectrogram.denormalize_db(tf.cast(mel, tf.float32), audio_config)
    linear = tf.maximum(tf.matmul(amplitude, inverse), 1e-5)
    return tf_spectrogram.normalize_db(linear, audio_config)


def read_lines(text_file):
    """The non-empty lines of a UTF-8 text file, stripped (an InvalidInputError if there are
    none, or if the file is not UTF-8)."""
    lines = [line.strip() for line in read_utf8(text_file).splitlines() if line.strip()]
    if not lines:
        raise InvalidInputError(f"{text_file} holds no text; give one sentence per line.")
    return lines


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

    def _speaker_arguments(self, speaker, batch_size):
        """Per-model keyword arguments that condition each model on ``speaker``.

        Args:
          speaker: a speaker name of the models' ``features.json`` speaker table, an id (an
            int or its digits), or ``None`` (models without speaker conditioning).
          batch_size: the batch size ``B`` of the ``speaker`` int32 [B] given to the models.

        Returns:
          ``(acoustic kwargs, vocoder kwargs)``: ``{"speaker": int32 [B]}`` for a model that is
          conditioned on speakers, ``{}`` otherwise.

        Raises:
          FeatureError: an unknown speaker (the message names the known ones), a speaker for
            models that take none, or none for a model that needs one.
        """
        trained = [self.acoustic, self.vocoder]
        conditioned = [model is not None and _speaker_count(model) > 0 for model in trained]
        if speaker is not None and not any(conditioned):
            raise FeatureError(
                f"speaker={speaker!r} was given, but neither model is conditioned on speakers."
            )
        kwargs = []
        for model, takes_speaker in zip(trained, conditioned, strict=True):
            if not takes_speaker:
                kwargs.append({})
                continue
            speaker_id = _speaker_id(model, speaker)
            kwargs.append({"speaker": tf.fill([batch_size], tf.constant(speaker_id, tf.int32))})
        return tuple(kwargs)

    def synthesize_ids(self, text_ids, speaker=None):
        """Text ids ``[B, N]`` -> dict with ``"audio"`` ``[B, S]`` and the acoustic outputs.

        ``speaker``: a name or id (see ``_speaker_arguments``) for models conditioned on speakers.
        Autoregressive models also return ``"stopped"`` (bool ``[B]``: False where the step
        guard, not the stop rule, ended the utterance; a warning is logged then) and
        ``"forced_steps"`` (decoder steps whose attention was forced), see each model's
        ``synthesize``.
        """
        acoustic_kwargs, _ = self._speaker_arguments(speaker, tf.shape(text_ids)[0])
        outputs = dict(self.acoustic.model.synthesize(text_ids, **acoustic_kwargs))
        if "mel" not in outputs:
            raise InvalidInputError(
                f"{self.acoustic.info.name}.synthesize() must return a 'mel' entry."
            )
        if "stopped" in outputs and not bool(tf.reduce_all(outputs["stopped"])):
            logging.warning(
                "%s reached its step guard before the stop rule ended the utterance: the end "
                "of the text may be missing or babbled. `ttszoo evaluate` measures how often.",
                self.acoustic.info.name,
            )
        if self.vocoder is None and "audio" in outputs:
            return outputs
        outputs.update(self.vocode(outputs["mel"], linear=outputs.get("linear"), speaker=speaker))
        return outputs

    def vocode(self, mel, linear=None, speaker=None):
        """Mel ``[B, T, n_mels]`` (normalised) -> dict with ``"audio"`` ``[B, S]``.

        ``speaker``: a name or id for a vocoder conditioned on speakers.

        With a vocoder its outputs come back too, prefixed ``vocoder_``. Without one, or for a
        vocoder that predicts a linear spectrogram, Griffin-Lim makes the waveform from that
        linear spectrogram, from ``linear`` (an acoustic model's own ``[B, T, n_linear]``), or
        from the mel mapped back to linear frequencies.
        """
        outputs = {}
        source = {} if linear is None else {"linear": linear}
        if self.vocoder is not None:
            _, vocoder_kwargs = self._speaker_arguments(speaker, tf.shape(mel)[0])
            source = dict(self.vocoder.model.vocode(mel, **vocoder_kwargs))
            outputs.update({f"vocoder_{k}": v for k, v in source.items()})
        if "audio" in source:
            outputs["audio"] = source["audio"]
        else:
            linear = source.get("linear")
            if linear is None:
                linear = mel_to_linear(mel, self.audio_config)
            outputs["audio"] = audio.griffin_lim(
                linear, self.audio_config, iterations=self.griffin_lim_iters
            )
        return outputs

    def synthesize(self, text, return_outputs=False, speaker=None):
        """Text -> ``(waveform float32 [num_samples], sample_rate)`` (plus the outputs dict).

        ``speaker``: a name or id for models conditioned on speakers (see ``_speaker_arguments``).
        """
        outputs = self.synthesize_ids(self.encode(text), speaker=speaker)
        waveform = np.asarray(outputs["audio"][0], np.float32)
        if return_outputs:
            return waveform, self.sample_rate, outputs
        return waveform, self.sample_rate

    def synthesize_to_file(self, text, path, speaker=None):
        """Synthesizes ``text`` (as ``speaker``) into the wav file ``path``; returns the path."""
        waveform, sample_rate = self.synthesize(text, speaker=speaker)
        return audio.save_wav(path, waveform, sample_rate)

    def synthesize_file(self, text_file, out_dir, progress=True, speaker=None):
        """Synthesizes each non-empty line of ``text_file`` into ``out_dir/0001.wav`` ...

        ``speaker``: a name or id for models conditioned on speakers.

        Returns:
          The list of paths written, in line order.
        """
        lines = read_lines(text_file)
        paths = []
        for index, line in enumerate(tqdm(lines, unit="line", disable=not progress), start=1):
            path = f"{out_dir}/{index:04d}.wav"
            self.synthesize_to_file(line, path, speaker=speaker)
            paths.append(path)
        logging.info("Wrote %d files to %s.", len(paths), out_dir)
        return paths

    def max_segment_symbols(self):
        """The longest piece, in symbols, that ``synthesize_paragraph`` gives the model: its
        ``max_text_length`` if it has one, else ``DEFAULT_MAX_SYMBOLS``."""
        return getattr(self.acoustic.model, "max_text_length", None) or DEFAULT_MAX_SYMBOLS

    def segment(self, text, max_symbols=None):
        """``text`` as a list of ``Segment``, each at most ``max_symbols`` tokenizer ids long."""
        limit = max_symbols or self.max_segment_symbols()
        return segment_text(text, limit, length=lambda piece: len(self.tokenizer.encode(piece)))

    def _synthesize_segments(self, segments, batch_size, speaker=None):
        """Waveforms of ``segments`` (a list of 1-D float32 arrays, in order), ``batch_size`` at a
        time; pieces of similar length share a batch, so little decoding is spent on padding."""
        ids = [self.tokenizer.encode(segment.text) for segment in segments]
        order = sorted(range(len(ids)), key=lambda index: len(ids[index]))
        waveforms = [None] * len(ids)
        for first in range(0, len(order), batch_size):
            chunk = order[first : first + batch_size]
            width = max(len(ids[index]) for index in chunk)
            padded = np.zeros([len(chunk), width], np.int32)
            for row, index in enumerate(chunk):
                padded[row, : len(ids[index])] = ids[index]
            outputs = self.synthesize_ids(tf.constant(padded), speaker=speaker)
            batch_audio = np.asarray(outputs["audio"], np.float32)
            if "mel_length" in outputs:
                lengths = np.asarray(outputs["mel_length"]) * self.audio_config.hop_length
            else:
                lengths = np.full(len(chunk), batch_audio.shape[1])
            for row, index in enumerate(chunk):
                waveforms[index] = batch_audio[row, : min(int(lengths[row]), batch_audio.shape[1])]
        return waveforms

    def synthesize_paragraph(
        self,
        text,
        sentence_pause=0.25,
        clause_pause=0.1,
        max_symbols=None,
        batch_size=8,
        return_segments=False,
        speaker=None,
    ):
        """Text of any length -> ``(waveform float32 [num_samples], sample_rate)``.

        The text is split into sentences, and a sentence longer than ``max_symbols`` at
        clause boundaries (commas, semicolons, colons, dashes), or between words as a last
        resort (``ttszoo.text.segmentation``). The pieces are synthesized ``batch_size`` at a
        time as padded id batches ``[B, N]``: the models mask padded symbols and report each
        utterance's ``mel_length``, at which its audio is cut. ``batch_size=1`` synthesizes
        one piece at a time. The pieces are joined in reading order, with ``sentence_pause``
        seconds of silence after a sentence, ``clause_pause`` after a clause split and none
        after a split between words, and none after the last piece.

        Args:
          text: a sentence or a paragraph.
          sentence_pause, clause_pause: seconds of silence (>= 0).
          max_symbols: the longest piece in tokenizer ids (default ``max_segment_symbols()``).
          batch_size: pieces per batch (>= 1).
          return_segments: also return a list of ``SpokenSegment`` (text and sample range).
          speaker: a name or id for models conditioned on speakers (see ``_speaker_arguments``).

        Raises:
          ValueError: negative pauses, a batch size below 1, or text with nothing to speak.
        """
        if sentence_pause < 0 or clause_pause < 0:
            raise InvalidInputError(
                f"Pauses must be >= 0 seconds, got sentence_pause={sentence_pause} and "
                f"clause_pause={clause_pause}."
            )
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}.")
        segments = self.segment(text, max_symbols)
        if not segments:
            raise InvalidInputError(f"{text!r} holds no words to speak; give some text.")
        pauses = {SENTENCE: sentence_pause, CLAUSE: clause_pause}
        pieces, spoken, position = [], [], 0
        waveforms = self._synthesize_segments(segments, batch_size, speaker)
        for index, (segment, waveform) in enumerate(zip(segments, waveforms, strict=True)):
            spoken.append(
                SpokenSegment(segment.text, segment.boundary, position, position + len(waveform))
            )
            pieces.append(waveform)
            position += len(waveform)
            if index + 1 < len(segments):
                silence = int(round(pauses.get(segment.boundary, 0.0) * self.sample_rate))
                pieces.append(np.zeros(silence, np.float32))
                position += silence
        waveform = np.concatenate(pieces)
        if return_segments:
            return waveform, self.sample_rate, spoken
        return waveform, self.sample_rate


def _speaker_count(trained):
    """Speakers a trained model is conditioned on (WaveNet's ``num_speakers``; 0: none)."""
    return int(getattr(trained.model, "num_speakers", 0) or 0)


def _speaker_id(trained, speaker):
    """The id of ``speaker`` (a name of the model's speaker table, or an id) for ``trained``."""
    table = trained.directory.features().get("speakers") or {}
    count = _speaker_count(trained)
    known = f"known speakers: {', '.join(f'{name} ({index})' for name, index in table.items())}"
    if not table:
        known = f"it was trained without a speaker table; give an id in [0, {count})"
    if speaker is None:
        raise FeatureError(
            f"{trained.directory.path} is conditioned on {count} speakers; pass speaker= "
            f"a name or an id ({known})."
        )
    if isinstance(speaker, str) and speaker in table:
        return table[speaker]
    if isinstance(speaker, str) and speaker.isdigit():  # an id given as text (the CLI)
        speaker = int(speaker)
    is_id = isinstance(speaker, int | np.integer) and not isinstance(speaker, bool)
    if is_id and 0 <= speaker < count:
        return int(speaker)
    raise FeatureError(f"Unknown speaker {speaker!r} for {trained.directory.path}; {known}.")
