"""WaveGrad: a diffusion vocoder conditioned on the continuous noise level.

Chen, Zhang, Zen, Weiss, Norouzi, Chan 2020, "WaveGrad: Estimating Gradients for Waveform
Generation" (arXiv 2009.00713). The network predicts the noise ``eps`` in
``y = l * x0 + sqrt(1 - l^2) * eps`` from ``y``, the mel spectrogram and the noise level ``l``;
training draws ``l`` continuously between two levels of the 1000-step training schedule
(section 3.2) and minimises ``|eps - eps_theta|_1``; inference runs the reverse process of
``ttszoo.diffusion.DiffusionSampler`` with a few-step schedule (6 iterations by default).
"""

import keras
import numpy as np
import tensorflow as tf

from ttszoo.diffusion import DiffusionSampler, NoiseSchedule, diffuse
from ttszoo.diffusion.searched_schedules import load_searched_schedule
from ttszoo.errors import InvalidInputError
from ttszoo.layers.diffusion import DBlock, FiLM, UBlock
from ttszoo.layers.tracking import track_layers
from ttszoo.models.base import VocoderModel
from ttszoo.models.registry import register_model
from ttszoo.models.vocoder_windows import (
    crossfade_weights,
    generate_in_chunks,
    random_segments,
)

__all__ = ["WaveGrad", "crossfade_weights", "sample_in_chunks"]

_BASE_DILATIONS = ((1, 2, 1, 2), (1, 2, 1, 2), (1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8))


def sample_in_chunks(sampler, mel, hop_length, chunk_frames, overlap_frames, seed=0, schedule=None):
    """Generates long audio as a batch of overlapping chunks joined by crossfades.

    The mel ``[B, T, M]`` is cut into windows of ``chunk_frames + 2 * overlap_frames`` frames
    every ``chunk_frames`` frames (zero frames pad both ends); all windows of all utterances
    are sampled as one batch, and the audio of neighbouring windows is overlap-added with
    linear crossfades over their ``2 * overlap_frames`` shared frames, normalised by the sum
    of the weights (``crossfade_weights``: the outer half of each context is dropped, the
    ramps span the inner halves around the seam). The context keeps the network's zero padding
    away from every sample that is kept, and the crossfade removes the step between two
    independently sampled chunks.

    Args:
      sampler: a ``DiffusionSampler`` whose network takes (audio, mel, noise level).
      mel: ``[B, T, M]`` float mel spectrogram with a static ``T``.
      hop_length: audio samples per frame.
      chunk_frames, overlap_frames: chunk stride and context per side, in frames.
      seed: sampling seed.
      schedule: a ``NoiseSchedule`` for this call (default: the sampler's).

    Returns:
      ``[B, T * hop_length]`` float32 audio.
    """

    def generate(windows):
        return sampler.sample(windows, windows.shape[1] * hop_length, seed=seed, schedule=schedule)

    return generate_in_chunks(generate, mel, hop_length, chunk_frames, overlap_frames)


_PER_BLOCK = ("upsample_factors", "upsample_channels", "upsample_dilations", "downsample_channels")


def _checked_hop_length(model, hop_length):
    """Validates a WaveGrad's per-block lists and ``inference_xla`` (set on ``model``); returns
    the hop length the upsampling factors give, which ``hop_length`` must equal if given."""
    if model.inference_xla not in ("auto", True, False):
        raise InvalidInputError(
            f'inference_xla must be "auto", True or False, got {model.inference_xla!r}.'
        )
    counts = {name: len(getattr(model, name)) for name in _PER_BLOCK}
    if len(set(counts.values())) != 1:
        raise InvalidInputError(
            f"WaveGrad needs one entry per UBlock in each of {counts}; give lists of one length."
        )
    product = int(np.prod(model.upsample_factors))
    if hop_length is not None and product != hop_length:
        raise InvalidInputError(
            f"The upsampling factors {model.upsample_factors} multiply to {product}, but the "
            f"hop length is {hop_length}. Choose factors whose product is the hop (e.g. "
            "(5, 5, 3, 2, 2) for 300, (4, 4, 4, 2, 2) for 256, (5, 5, 2, 2, 2) for 200)."
        )
    return product


@register_model(
    "wavegrad",
    paper="Chen et al. 2020, WaveGrad: Estimating Gradients for Waveform Generation, arXiv 2009.00713",
    description="Diffusion vocoder: mel -> waveform in 6 to 1000 denoising iterations.",
)
class WaveGrad(VocoderModel):
    """WaveGrad Base (about 15.8 M parameters with the defaults).

    Upsampling path: ``conv3(mel) -> UBlock x len(upsample_factors)`` (each repeating time by its
    factor) ``-> conv3 -> noise [B, S]``. Downsampling path from the noisy audio:
    ``conv5 -> DBlock`` by the reversed factors except the first, one ``FiLM`` per resolution
    feeding the ``UBlock`` of that resolution. ``prod(upsample_factors)`` is the hop length:
    (5, 5, 3, 2, 2) for hop 300 at 22.05 kHz as in the paper, (5, 5, 2, 2, 2) for hop 200 at
    16 kHz, (4, 4, 4, 2, 2) for hop 256.

    Args:
      upsample_factors: time factor of each UBlock, first (coarsest) to last.
      upsample_channels: output channels of each UBlock.
      upsample_dilations: four dilations per UBlock.
      downsample_channels: output channels of the first convolution and of each DBlock,
        finest to coarsest (one more than the DBlocks).
      mel_channels: channels of the first convolution on the mel.
      noise_scale: the linear scale of the noise-level encoding (5000 in the paper, 1 for
        lmnt-com/wavegrad's variant).
      hop_length: optional; when given it must equal ``prod(upsample_factors)``.
      segment_frames: frames of the random training crop (static shape).
      training_betas: ``(start, end, steps)`` of the linear training schedule.
      inference_iterations: named inference schedule (6, 7, 12, 25, 50, 100, 1000) used by
        ``vocode`` until ``set_inference_schedule`` gives another one (a searched schedule).
      clip: the sampler's clipping (``"output"``: clamp to [-1, 1] after every step).
      chunk_frames, overlap_frames: ``vocode`` generates mels longer than ``chunk_frames``
        in overlapping chunks (see ``sample_in_chunks``).
      inference_xla: compile ``vocode``'s sampler loop with XLA: True, False, or ``"auto"``
        (XLA, except for a bfloat16 compute dtype with no GPU or TPU: XLA's CPU backend gains
        nothing from bfloat16, while TensorFlow's oneDNN kernels use the CPU's bf16
        instructions, AVX512_BF16 or AMX; docs/benchmarks.md measures both).
      seed: seed of the training crops and noise.

    Call args:
      noisy_audio: ``[B, S]`` noisy waveform ``y``.
      mel: ``[B, S / hop, n_mels]`` conditioning mel spectrogram.
      noise_level: ``[B]`` noise level ``sqrt(alpha_bar)``.

    Returns:
      ``[B, S]`` predicted noise, in the compute dtype.
    """

    def __init__(
        self,
        upsample_factors=(5, 5, 3, 2, 2),
        upsample_channels=(512, 512, 256, 128, 128),
        upsample_dilations=_BASE_DILATIONS,
        downsample_channels=(32, 128, 128, 256, 512),
        mel_channels=768,
        noise_scale=5000.0,
        hop_length=None,
        segment_frames=24,
        training_betas=(1e-6, 1e-2, 1000),
        inference_iterations=6,
        clip="output",
        chunk_frames=256,
        overlap_frames=8,
        inference_xla="auto",
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.upsample_factors = tuple(int(f) for f in upsample_factors)
        self.upsample_channels = tuple(int(c) for c in upsample_channels)
        self.upsample_dilations = tuple(tuple(int(d) for d in ds) for ds in upsample_dilations)
        self.downsample_channels = tuple(int(c) for c in downsample_channels)
        self.inference_xla = inference_xla
        self.hop_length = _checked_hop_length(self, hop_length)
        self.mel_channels = mel_channels
        self.noise_scale = noise_scale
        self.segment_frames = segment_frames
        self.training_betas = tuple(training_betas)
        self.inference_iterations = inference_iterations
        self.clip = clip
        self.chunk_frames = chunk_frames
        self.overlap_frames = overlap_frames
        self.seed = seed

        self.training_schedule = NoiseSchedule.linear(*training_betas)
        self.inference_schedule = NoiseSchedule.inference(inference_iterations)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._build_layers()
        self._sampler = None

    def _build_layers(self):
        """The convolutions, UBlocks (coarsest first), DBlocks and FiLMs (finest first)."""
        policy = self.dtype_policy
        self.mel_conv = keras.layers.Conv1D(
            self.mel_channels, 3, padding="same", dtype=policy, name="mel_conv"
        )
        ublocks = [
            UBlock(c, f, d, dtype=policy, name=f"ublock_{i}")
            for i, (c, f, d) in enumerate(
                zip(
                    self.upsample_channels,
                    self.upsample_factors,
                    self.upsample_dilations,
                    strict=True,
                )
            )
        ]
        self.output_conv = keras.layers.Conv1D(1, 3, padding="same", dtype=policy, name="output")
        self.audio_conv = keras.layers.Conv1D(
            self.downsample_channels[0], 5, padding="same", dtype=policy, name="audio_conv"
        )
        # DBlock k brings resolution k to k + 1 (finest first): factors reversed, without the first.
        dblocks = [
            DBlock(c, f, dtype=policy, name=f"dblock_{i}")
            for i, (c, f) in enumerate(
                zip(self.downsample_channels[1:], self.upsample_factors[:0:-1], strict=True)
            )
        ]
        # FiLM k feeds the UBlock whose output has resolution k (finest first).
        films = [
            FiLM(c, self.noise_scale, dtype=policy, name=f"film_{i}")
            for i, c in enumerate(self.upsample_channels[::-1])
        ]
        self.ublocks = track_layers(self, ublocks)  # coarsest first
        self.dblocks = track_layers(self, dblocks)  # finest first
        self.films = track_layers(self, films)  # finest resolution first

    def build(self, noisy_audio_shape, mel_shape=None, noise_level_shape=None):
        batch, samples = noisy_audio_shape
        frames = None if samples is None else samples // self.hop_length
        mel_shape = mel_shape or (batch, frames, None)
        self.audio_conv.build((batch, samples, 1))
        shape = (batch, samples, self.downsample_channels[0])
        film_inputs = [shape]
        for dblock in self.dblocks:
            dblock.build(shape)
            shape = dblock.compute_output_shape(shape)
            film_inputs.append(shape)
        for film, film_shape in zip(self.films, film_inputs, strict=True):
            film.build(film_shape)
        self.mel_conv.build(mel_shape)
        shape = (batch, frames, self.mel_channels)
        for ublock in self.ublocks:
            ublock.build(shape)
            shape = ublock.compute_output_shape(shape)
        self.output_conv.build(shape)
        self.built = True

    def call(self, noisy_audio, mel, noise_level):
        x = self.audio_conv(tf.cast(noisy_audio, self.compute_dtype)[..., tf.newaxis])
        modulations = [self.films[0](x, noise_level)]
        for dblock, film in zip(self.dblocks, self.films[1:], strict=True):
            x = dblock(x)
            modulations.append(film(x, noise_level))
        x = self.mel_conv(tf.cast(mel, self.compute_dtype))
        for ublock, (shift, scale) in zip(self.ublocks, reversed(modulations), strict=True):
            x = ublock(x, shift, scale)
        return self.output_conv(x)[..., 0]

    # Training.

    def _check_batch(self, mel, audio):
        frames, samples = mel.shape[1], audio.shape[1]
        if frames is not None and samples is not None and samples != frames * self.hop_length:
            raise InvalidInputError(
                f"The audio has {samples} samples for {frames} mel frames, i.e. a hop of "
                f"{samples / frames:g}, but this WaveGrad's upsampling factors "
                f"{self.upsample_factors} multiply to {self.hop_length}. Preprocess with an "
                "AudioConfig whose hop_length equals the product of the factors, or change them."
            )

    def random_segments(self, batch):
        """Random crops of ``segment_frames`` frames: ``(mel [B, F, M], audio [B, F * hop])``.

        The start frame of each utterance is uniform over the positions where the crop fits
        inside its ``mel_length`` (0 for shorter utterances, which keep their zero padding).
        Batches shorter than the segment are zero-padded first, so the shapes are static.
        """
        mel, audio = batch["mel"], batch["audio"]
        self._check_batch(mel, audio)
        return random_segments(
            mel, audio, batch.get("mel_length"), self.segment_frames, self.hop_length,
            self.seed_generator,
        )  # fmt: skip

    def compute_losses(self, batch, training=False):
        """L1 between the drawn noise and the predicted noise on random segments (float32)."""
        mel, audio = self.random_segments(batch)
        batch_size = tf.shape(audio)[0]
        seed = keras.random.randint([2], 0, 2**31 - 1, seed=self.seed_generator)
        noise_level = self.training_schedule.sample_noise_level(batch_size, seed)
        noise = keras.random.normal(tf.shape(audio), seed=self.seed_generator)
        loss = self.noise_prediction_loss(mel, audio, noise_level, noise, training=training)
        return {"loss": loss, "noise_l1": loss}

    def noise_prediction_loss(self, mel, audio, noise_level, noise, training=False, per_crop=False):
        """``mean |noise - eps_theta(level * audio + sqrt(1 - level^2) * noise, mel, level)|``.

        The loss of one training step with its crops (``mel [B, F, M]``, ``audio [B, F *
        hop]``), noise levels ``[B]`` and noise ``[B, F * hop]`` already drawn; a float32 scalar,
        or with ``per_crop`` each crop's mean ``[B]``. ``compute_losses`` draws them;
        benchmarks/wavegrad_training_parity.py gives the same draws to this model and to
        lmnt-com/wavegrad.
        """
        noisy = diffuse(audio, noise_level, noise)
        predicted = tf.cast(self(noisy, mel, noise_level, training=training), tf.float32)
        return tf.reduce_mean(tf.abs(noise - predicted), axis=-1 if per_crop else None)

    # Inference.

    def set_inference_schedule(self, schedule):
        """Uses ``schedule`` (a ``NoiseSchedule``, e.g. a searched one) in ``vocode``."""
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}.")
        self.inference_schedule = schedule

    def restored(self, directory):
        """Takes the schedule ``ttszoo schedule-search`` stored in ``directory`` for
        ``inference_iterations`` steps, when there is one."""
        schedule, _ = load_searched_schedule(directory, self.inference_iterations)
        if schedule is not None:
            self.set_inference_schedule(schedule)

    def uses_xla_for_inference(self):
        """Whether ``vocode`` compiles its sampler loop with XLA (see ``inference_xla``)."""
        if self.inference_xla != "auto":
            return self.inference_xla
        accelerated = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU")
        return bool(accelerated) or self.compute_dtype != "bfloat16"

    def sampler(self):
        """The ``DiffusionSampler`` over this network (compact form, compiled once per shape)."""
        if self._sampler is None:
            self._sampler = DiffusionSampler(
                self,
                self.inference_schedule,
                clip=self.clip,
                jit_compile=self.uses_xla_for_inference(),
            )
        return self._sampler

    def vocode(self, mel, seed=0, schedule=None):
        """Mel ``[B, T, n_mels]`` -> ``{"audio": [B, T * hop_length]}`` float32 in [-1, 1].

        Uses ``schedule`` or the model's inference schedule; mels longer than
        ``chunk_frames`` frames are generated in overlapping chunks (``sample_in_chunks``).
        """
        mel = tf.convert_to_tensor(mel)
        if mel.shape.rank != 3:
            raise InvalidInputError(f"mel must be [batch, frames, n_mels], got shape {mel.shape}.")
        if self.mel_conv.built and mel.shape[-1] != self.mel_conv.kernel.shape[1]:
            raise InvalidInputError(
                f"This WaveGrad was built for {self.mel_conv.kernel.shape[1]} mel bands, got a mel "
                f"with {mel.shape[-1]}; use the audio settings it was trained with."
            )
        schedule = self.inference_schedule if schedule is None else schedule
        sampler = self.sampler()
        frames = mel.shape[1]
        if frames is not None and frames > self.chunk_frames:
            audio = sample_in_chunks(
                sampler,
                mel,
                self.hop_length,
                self.chunk_frames,
                self.overlap_frames,
                seed,
                schedule,
            )
        else:
            length = (
                tf.shape(mel)[1] * self.hop_length if frames is None else frames * self.hop_length
            )
            audio = sampler.sample(mel, length, seed=seed, schedule=schedule)
        return {"audio": audio}

    def sample(self, batch):
        """The first validation utterance vocoded from its ground-truth mel."""
        mel = batch["mel"][:1]
        return {"audio": {"vocoded": self.vocode(mel)["audio"][0], "target": batch["audio"][0]}}

    def get_config(self):
        config = super().get_config()
        config.update(
            upsample_factors=list(self.upsample_factors),
            upsample_channels=list(self.upsample_channels),
            upsample_dilations=[list(d) for d in self.upsample_dilations],
            downsample_channels=list(self.downsample_channels),
            mel_channels=self.mel_channels,
            noise_scale=self.noise_scale,
            hop_length=self.hop_length,
            segment_frames=self.segment_frames,
            training_betas=list(self.training_betas),
            inference_iterations=self.inference_iterations,
            clip=self.clip,
            chunk_frames=self.chunk_frames,
            overlap_frames=self.overlap_frames,
            inference_xla=self.inference_xla,
            seed=self.seed,
        )
        return config
