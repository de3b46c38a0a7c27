"""WaveNet vocoder: mel spectrogram -> waveform, sample by sample, with fast generation.

References:
  van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio", arXiv 1609.03499
  (dilated causal convolutions, gated activations, residual and skip paths, local and global
  conditioning).
  van den Oord et al. 2017, "Parallel WaveNet", ICML, and Salimans et al. 2017, PixelCNN++
  (the discretized mixture of logistics over 16-bit audio).
  Ping, Peng, Chen 2019, ClariNet (a single Gaussian output).
  Paine et al. 2016, "Fast Wavenet Generation Algorithm", arXiv 1611.09482 (per-layer queues).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from ttszoo.distributions import gaussian_mixture_from_network_output
from ttszoo.distributions.losses import DEFAULT_LOG_SCALE_MIN
from ttszoo.distributions.losses import FAMILIES as DISCRETIZED_FAMILIES
from ttszoo.errors import InvalidInputError
from ttszoo.layers.tracking import track_layers
from ttszoo.layers.wavenet import GatedResidualBlock, MelUpsampler
from ttszoo.models.base import VocoderModel
from ttszoo.models.registry import register_model

OUTPUT_DISTRIBUTIONS = ("logistic", "gaussian", "continuous_gaussian")


def _output_channels(output_distribution, num_mixtures):
    if output_distribution != "logistic" and num_mixtures == 1:
        return 2  # mean and log-scale of one Gaussian
    return 3 * num_mixtures


def _check_arguments(output_distribution, **positive_ints):
    if output_distribution not in OUTPUT_DISTRIBUTIONS:
        raise InvalidInputError(
            f"output_distribution must be one of {OUTPUT_DISTRIBUTIONS}, got "
            f"{output_distribution!r}."
        )
    for name, value in positive_ints.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"{name} must be a positive int, got {value!r}.")


@register_model(
    "wavenet",
    paper="van den Oord et al. 2016, arXiv 1609.03499; Paine et al. 2016, arXiv 1611.09482",
    description="Autoregressive WaveNet vocoder on mel spectrograms with a mixture-of-logistics "
    "or Gaussian output and queue-based fast generation.",
)
class WaveNetVocoder(VocoderModel):
    """WaveNet conditioned on mel spectrograms (and optionally on a speaker id).

    Network: the previous sample ``x[t-1]`` -> 1x1 input projection -> ``num_layers`` gated
    residual blocks with dilations ``2 ** (i % dilation_cycle)`` -> sum of skips -> ReLU, 1x1,
    ReLU, 1x1 -> the parameters of the output distribution of ``x[t]``. The mel goes through a
    frame-rate convolution, one 1x1 projection per block (all blocks in one Dense), and is
    linearly interpolated to the sample rate (projection and interpolation commute, so this is
    ``hop_length`` times cheaper than projecting at the sample rate). A speaker embedding, when
    ``num_speakers > 0``, is projected and added to the same conditioning.

    Output distributions (the float32 parameters ``[..., C]`` feed ``ttszoo.distributions``):
      * ``"logistic"``: ``DiscretizedMixtureOfLogistics`` with ``M = num_mixtures``, C = 3M;
      * ``"gaussian"``: ``DiscretizedGaussian`` (C = 2 for one Gaussian, 3M for a mixture);
      * ``"continuous_gaussian"``: a continuous Gaussian (mixture) density as in ClariNet.
    The discretized heads give class probabilities, so their negative log-likelihood is >= 0.
    The continuous head gives a density on [-1, 1]; a sharp density exceeds 1, so its NLL is
    routinely negative and keeps falling below zero as the model improves. That is normal.

    Training (``compute_losses``): each utterance is cropped to ``segment_frames`` frames at a
    random frame-aligned start (the centre crop when ``training=False``), plus enough preceding
    frames (``context_frames``) that every scored sample sees its full receptive field of true
    past audio. Only the segment is scored, so every compiled step has static shapes.

    Generation (``vocode``/``generate``): one sample per iteration of an XLA-compiled while loop
    with a static trip count ``T * hop_length``; every dilated layer keeps a queue of its past
    inputs, so a sample costs the same whatever the receptive field. Batched.

    Args:
      hop_length: audio samples per mel frame (the records' ``AudioConfig.hop_length``).
      n_mels: mel bins of the input.
      residual_channels, gate_channels, skip_channels: widths (``gate_channels`` is 2G).
      kernel_size: taps of the dilated convolutions (>= 2).
      num_layers: residual blocks.
      dilation_cycle: dilations restart at 1 every this many layers (10 gives 1, ..., 512).
      condition_channels, condition_kernel_size: the frame-rate convolution on the mel.
      output_distribution: ``"logistic"``, ``"gaussian"`` or ``"continuous_gaussian"``.
      num_mixtures: mixture components ``M``.
      num_classes: quantisation levels of the target audio (2**16 for 16-bit audio).
      log_scale_min: log-scale floor; None picks -7 (logistic) or log(1e-7) (Gaussians).
      num_speakers: speakers for global conditioning (0: none); batches then carry ``speaker``
        int32 [B].
      speaker_channels: size of the speaker embedding.
      segment_frames: frames scored per utterance in a training step.
      sample_frames: frames generated for the trainer's audio sample.
    """

    def __init__(
        self,
        hop_length=276,
        n_mels=80,
        residual_channels=64,
        gate_channels=128,
        skip_channels=64,
        kernel_size=2,
        num_layers=20,
        dilation_cycle=10,
        condition_channels=80,
        condition_kernel_size=3,
        output_distribution="logistic",
        num_mixtures=10,
        num_classes=2**16,
        log_scale_min=None,
        num_speakers=0,
        speaker_channels=16,
        segment_frames=8,
        sample_frames=40,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_arguments(
            output_distribution,
            hop_length=hop_length,
            n_mels=n_mels,
            num_layers=num_layers,
            dilation_cycle=dilation_cycle,
            num_mixtures=num_mixtures,
            segment_frames=segment_frames,
            sample_frames=sample_frames,
        )
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.residual_channels = residual_channels
        self.gate_channels = gate_channels
        self.skip_channels = skip_channels
        self.kernel_size = kernel_size
        self.num_layers = num_layers
        self.dilation_cycle = dilation_cycle
        self.condition_channels = condition_channels
        self.condition_kernel_size = condition_kernel_size
        self.output_distribution = output_distribution
        self.num_mixtures = num_mixtures
        self.num_classes = num_classes
        self.log_scale_min = (
            DEFAULT_LOG_SCALE_MIN["logistic" if output_distribution == "logistic" else "gaussian"]
            if log_scale_min is None
            else float(log_scale_min)
        )
        self.num_speakers = num_speakers
        self.speaker_channels = speaker_channels
        self.segment_frames = segment_frames
        self.sample_frames = sample_frames
        self.output_channels = _output_channels(output_distribution, num_mixtures)
        self._build_conditioning()
        self._build_network()
        self._compiled_loops = {}

    def _build_conditioning(self):
        """The input projection and the frame-rate (and speaker) conditioning layers."""
        policy = self.dtype_policy
        self.input_projection = keras.layers.Dense(
            self.residual_channels, dtype=policy, name="input_projection"
        )
        self.frame_network = keras.layers.Conv1D(
            self.condition_channels,
            self.condition_kernel_size,
            padding="same",
            dtype=policy,
            name="frame_network",
        )
        self.condition_projection = keras.layers.Dense(
            self.num_layers * self.gate_channels, dtype=policy, name="condition_projection"
        )
        self.speaker_embedding = None
        self.speaker_projection = None
        if self.num_speakers:
            self.speaker_embedding = keras.layers.Embedding(
                self.num_speakers, self.speaker_channels, dtype=policy, name="speaker_embedding"
            )
            self.speaker_projection = keras.layers.Dense(
                self.num_layers * self.gate_channels,
                use_bias=False,
                dtype=policy,
                name="speaker_projection",
            )
        self.upsampler = MelUpsampler(self.hop_length, dtype=policy, name="upsampler")

    def _build_network(self):
        """The gated residual blocks and the output head."""
        policy = self.dtype_policy
        blocks = [
            GatedResidualBlock(
                self.residual_channels,
                self.gate_channels,
                self.skip_channels,
                kernel_size=self.kernel_size,
                dilation_rate=dilation,
                residual_output=i < self.num_layers - 1,
                dtype=policy,
                name=f"block_{i}",
            )
            for i, dilation in enumerate(self.dilations)
        ]
        self.blocks = track_layers(self, blocks)
        self.head_hidden = keras.layers.Dense(self.skip_channels, dtype=policy, name="head_hidden")
        self.head_output = keras.layers.Dense(
            self.output_channels, dtype=policy, name="head_output"
        )

    def build(self, input_shape=None):
        """Builds every weight from the constructor's sizes (the input shapes are not needed)."""
        self.input_projection.build((None, None, 1))
        self.frame_network.build((None, None, self.n_mels))
        self.condition_projection.build((None, None, self.condition_channels))
        if self.speaker_embedding is not None:
            self.speaker_embedding.build((None,))
            self.speaker_projection.build((None, self.speaker_channels))
        for block in self.blocks:
            block.build((None, None, self.residual_channels), (None, None, self.gate_channels))
        self.head_hidden.build((None, None, self.skip_channels))
        self.head_output.build((None, None, self.skip_channels))
        self.built = True

    def _ensure_built(self):
        if not self.built:
            self.build()

    # ----------------------------------------------------------------------------- structure
    @property
    def dilations(self):
        """Dilation of each block: ``2 ** (i % dilation_cycle)``."""
        return [2 ** (i % self.dilation_cycle) for i in range(self.num_layers)]

    @property
    def receptive_field(self):
        """Past samples that one output depends on: ``(K - 1) * sum(dilations) + 1``."""
        return (self.kernel_size - 1) * sum(self.dilations) + 1

    @property
    def context_frames(self):
        """Frames before a training segment that cover the receptive field of its first sample."""
        return math.ceil(self.receptive_field / self.hop_length)

    def distribution(self, params):
        """The output distribution of samples given float32 parameters ``[..., C]``."""
        params = tf.cast(params, tf.float32)
        if self.output_distribution == "continuous_gaussian":
            return gaussian_mixture_from_network_output(params, self.log_scale_min)
        return DISCRETIZED_FAMILIES[self.output_distribution].from_network_output(
            params, num_classes=self.num_classes, log_scale_min=self.log_scale_min
        )

    # --------------------------------------------------------------------------- validation
    def _check_mel(self, mel):
        mel = tf.convert_to_tensor(mel)
        if mel.shape.rank != 3 or mel.shape[-1] != self.n_mels:
            raise InvalidInputError(
                f"WaveNet expects a mel spectrogram [B, T, n_mels={self.n_mels}], got shape "
                f"{mel.shape}. Use the records' features or set WaveNetVocoder.n_mels to match."
            )
        return mel

    def _check_speaker(self, speaker):
        if not self.num_speakers:
            if speaker is not None:
                raise InvalidInputError(
                    "A speaker was given but the model has num_speakers=0; set "
                    "WaveNetVocoder.num_speakers to use global conditioning."
                )
            return None
        if speaker is None:
            raise InvalidInputError(
                f"The model is conditioned on {self.num_speakers} speakers: give `speaker`, "
                "int32 [B] (a 'speaker' entry in the batch: records of a corpus with a speaker "
                "column and 'speaker' in ttszoo.data.make_dataset.features)."
            )
        speaker = tf.convert_to_tensor(speaker)
        if speaker.shape.rank != 1:
            raise InvalidInputError(f"speaker must be int [B], got shape {speaker.shape}.")
        return speaker

    def _check_audio(self, audio, mel):
        audio = tf.convert_to_tensor(audio)
        if audio.shape.rank != 2:
            raise InvalidInputError(
                f"audio must be [B, S] samples in [-1, 1], got shape {audio.shape}."
            )
        if None not in (audio.shape[1], mel.shape[1]) and (
            audio.shape[1] != mel.shape[1] * self.hop_length
        ):
            raise InvalidInputError(
                f"audio has {audio.shape[1]} samples for {mel.shape[1]} mel frames, but "
                f"hop_length={self.hop_length} needs {mel.shape[1] * self.hop_length}. Set "
                "WaveNetVocoder.hop_length to the records' AudioConfig.hop_length."
            )
        return audio

    # ------------------------------------------------------------------------------ network
    def frame_conditioning(self, mel, speaker=None):
        """Per-block conditioning at the frame rate: [B, T, num_layers * gate_channels]."""
        condition = self.condition_projection(self.frame_network(mel))
        if self.speaker_embedding is not None:
            speaker_bias = self.speaker_projection(self.speaker_embedding(speaker))
            condition = condition + speaker_bias[:, tf.newaxis]
        return condition

    def _head(self, skips):
        hidden = self.head_hidden(tf.nn.relu(skips))
        return tf.cast(self.head_output(tf.nn.relu(hidden)), tf.float32)

    def network(self, previous_samples, condition, valid=None):
        """Teacher-forced parallel pass.

        Args:
          previous_samples: [B, S] the sample before each position (``x[t-1]``, 0 before the
            start).
          condition: [B, S, num_layers * gate_channels] conditioning at the sample rate.
          valid: optional [B, S] 1 where the position is inside the utterance, 0 before its
            start. The hidden states there are zeroed, as the zero padding (and the empty
            queues of generation) do for positions before the first sample.

        Returns:
          float32 [B, S, C] distribution parameters of each ``x[t]``.
        """
        hidden = self.input_projection(previous_samples[..., tf.newaxis])
        if valid is not None:
            valid = tf.cast(valid, hidden.dtype)[..., tf.newaxis]
            hidden *= valid
        conditions = tf.split(condition, self.num_layers, axis=-1)
        skips = 0.0
        for block, block_condition in zip(self.blocks, conditions, strict=True):
            hidden, skip = block(hidden, block_condition)
            if valid is not None:
                hidden *= valid
            skips += skip
        return self._head(skips)

    def call(self, inputs):
        """``{"mel" [B, T, n_mels], "audio" [B, T * hop], "speaker"?}`` -> float32 [B, S, C].

        The teacher-forced distribution parameters of every sample of ``audio``.
        """
        mel = self._check_mel(inputs["mel"])
        audio = self._check_audio(inputs["audio"], mel)
        speaker = self._check_speaker(inputs.get("speaker"))
        condition = self.upsampler(self.frame_conditioning(mel, speaker))
        previous = tf.pad(audio[:, :-1], [[0, 0], [1, 0]])
        return self.network(tf.cast(previous, self.compute_dtype), condition)

    # ----------------------------------------------------------------------------- training
    def _crop_window(self, batch, training):
        """Frame-aligned windows ``context_frames + segment_frames`` frames long.

        Returns the previous samples [B, W], the targets [B, W], the conditioning [B, W, LG],
        the loss mask [B, W] (1 on the segment's real samples, 0 on context and padding) and
        ``valid`` [B, W] (0 before the utterance starts).
        """
        mel = self._check_mel(batch["mel"])
        audio = self._check_audio(batch["audio"], mel)
        speaker = self._check_speaker(batch.get("speaker"))
        hop, context, segment = self.hop_length, self.context_frames, self.segment_frames
        frames = tf.shape(mel)[1]
        samples = tf.shape(audio)[1]
        batch_size = tf.shape(mel)[0]
        mel_length = batch.get("mel_length", tf.fill([batch_size], frames))
        audio_length = batch.get("audio_length", mel_length * hop)
        max_start = tf.maximum(tf.cast(mel_length, tf.int32) - segment, 0)
        if training:
            uniform = tf.random.uniform([batch_size])
            start = tf.cast(tf.floor(uniform * tf.cast(max_start + 1, tf.float32)), tf.int32)
            start = tf.minimum(start, max_start)
        else:
            start = max_start // 2
        window_frames = context + segment
        # Conditioning: the window plus one neighbour frame each side for the interpolation.
        frame_index = (start - context - 1)[:, None] + tf.range(window_frames + 2)[None]
        frame_index = tf.clip_by_value(frame_index, 0, frames - 1)
        condition = tf.gather(self.frame_conditioning(mel, speaker), frame_index, batch_dims=1)
        condition = self.window_condition(condition)
        # Audio: zeros before the utterance starts, as in generation.
        sample_index = ((start - context) * hop)[:, None] + tf.range(window_frames * hop)[None]

        def gather_audio(index):
            inside = (index >= 0) & (index < samples)
            values = tf.gather(audio, tf.clip_by_value(index, 0, samples - 1), batch_dims=1)
            return tf.where(inside, values, tf.zeros_like(values))

        targets = gather_audio(sample_index)
        previous = gather_audio(sample_index - 1)
        scored = tf.range(window_frames * hop)[None] >= context * hop
        mask = scored & (sample_index < tf.cast(audio_length, tf.int32)[:, None])
        valid = tf.cast(sample_index >= 0, self.compute_dtype)
        return previous, targets, condition, tf.cast(mask, tf.float32), valid

    def window_condition(self, frame_condition):
        """Sample-rate conditioning of a window from its frame-rate conditioning.

        Args:
          frame_condition: [B, W + 2, num_layers * gate_channels], ``frame_conditioning`` of the
            window's ``W`` frames and one neighbour frame each side (for the interpolation).

        Returns:
          [B, W * hop_length, num_layers * gate_channels].
        """
        return self.upsampler(frame_condition)[:, self.hop_length : -self.hop_length]

    def compute_losses(self, batch, training=False):
        """Masked mean NLL of the cropped segments: ``loss`` (nats per sample) and bits.

        ``bits_per_sample = loss / ln 2``. For ``continuous_gaussian`` both are (often negative)
        densities rather than class probabilities; see the class docstring.
        """
        self._ensure_built()
        return self.window_losses(*self._crop_window(batch, training))

    def window_losses(self, previous, targets, condition, mask, valid=None):
        """``compute_losses`` on given windows of ``context_frames + segment_frames`` frames.

        Args:
          previous: [B, W] the sample before each position; targets: [B, W] the samples.
          condition: [B, W, num_layers * gate_channels] (``window_condition``).
          mask: [B, W] float, 1 where a sample is scored; the first ``context_frames`` frames
            are never scored (they give the segment its receptive field).
          valid: optional [B, W], 0 before the utterance starts (see ``network``).

        Returns:
          ``{"loss", "bits_per_sample"}`` float32 scalars.
        """
        skip = self.context_frames * self.hop_length
        params = self.network(tf.cast(previous, self.compute_dtype), condition, valid)[:, skip:]
        nll = -self.distribution(params).log_prob(targets[:, skip:])
        mask = mask[:, skip:]
        loss = tf.reduce_sum(nll * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
        return {"loss": loss, "bits_per_sample": loss / np.log(2.0)}

    # --------------------------------------------------------------------------- generation
    def _incremental_loop(self, frame_condition, teacher, seed):
        """Runs the network one sample at a time with per-layer queues.

        The trip count ``S = T * hop_length`` comes from the shape of ``frame_condition``; XLA
        compiles the loop for each input shape, so it is a compile-time constant even when the
        caller's graph (for example an exported SavedModel) leaves ``T`` unknown.

        Args:
          frame_condition: [B, T, num_layers * gate_channels] (``frame_conditioning``).
          teacher: [B, S] audio to feed back (teacher forcing), or None to feed back samples of
            the output distribution.
          seed: int32 [2] stateless seed (only used without a teacher).

        Returns:
          float32 [B, S, C] parameters (teacher forcing) or [B, S] audio.
        """
        batch_size = tf.shape(frame_condition)[0]
        num_samples = tf.shape(frame_condition)[1] * self.hop_length
        queues = tuple(block.initial_queue(batch_size) for block in self.blocks)
        outputs = tf.TensorArray(tf.float32, size=num_samples, element_shape=None)

        def body(position, previous, queues, outputs):
            condition = self.upsampler.step(frame_condition, position)
            conditions = tf.split(condition, self.num_layers, axis=-1)
            hidden = self.input_projection(previous[:, tf.newaxis])
            skips = 0.0
            new_queues = []
            for block, block_condition, queue in zip(self.blocks, conditions, queues, strict=True):
                hidden, skip, queue = block.step(hidden, block_condition, queue, position)
                skips += skip
                new_queues.append(queue)
            params = self._head(skips)
            if teacher is None:
                step_seed = tf.stack([seed[0], seed[1] + position])
                current = tf.cast(self.distribution(params).sample(seed=step_seed), tf.float32)
                outputs = outputs.write(position, current)
            else:
                current = teacher[:, position]
                outputs = outputs.write(position, params)
            return position + 1, current, tuple(new_queues), outputs

        _, _, _, outputs = tf.while_loop(
            lambda position, *_: position < num_samples,
            body,
            (tf.constant(0), tf.zeros([batch_size], tf.float32), queues, outputs),
            maximum_iterations=num_samples,
        )
        stacked = outputs.stack()  # [S, B] or [S, B, C]
        return tf.transpose(stacked, [1, 0, 2] if teacher is not None else [1, 0])

    def _compiled_loop(self, teacher_forced):
        if teacher_forced not in self._compiled_loops:

            def loop(frame_condition, teacher, seed):
                return self._incremental_loop(
                    frame_condition, teacher if teacher_forced else None, seed
                )

            self._compiled_loops[teacher_forced] = tf.function(loop, jit_compile=True)
        return self._compiled_loops[teacher_forced]

    def _prepare(self, mel, speaker):
        mel = self._check_mel(mel)
        speaker = self._check_speaker(speaker)
        self._ensure_built()
        return mel, self.frame_conditioning(mel, speaker)

    def incremental_outputs(self, mel, audio, speaker=None):
        """Teacher-forced parameters computed one sample at a time with the queues.

        Equal (to rounding) to ``self({"mel": mel, "audio": audio})``: the check that the fast
        path computes the same network. Returns float32 [B, T * hop, C].
        """
        mel, frame_condition = self._prepare(mel, speaker)
        audio = tf.cast(self._check_audio(audio, mel), tf.float32)
        loop = self._compiled_loop(True)
        return loop(frame_condition, audio, tf.zeros([2], tf.int32))

    def generate(self, mel, speaker=None, seed=0):
        """Samples audio [B, T * hop_length] in [-1, 1] from mel [B, T, n_mels].

        ``seed``: an int or an int32 [2] tensor; the same seed gives the same audio.
        """
        mel, frame_condition = self._prepare(mel, speaker)
        seed = tf.cast(tf.reshape(tf.convert_to_tensor(seed), [-1]), tf.int32)
        seed = tf.concat([seed, tf.zeros([2], tf.int32)], axis=0)[:2]
        loop = self._compiled_loop(False)
        batch_size = tf.shape(mel)[0]
        return loop(frame_condition, tf.zeros([batch_size, 1], tf.float32), seed)

    def vocode(self, mel, speaker=None):
        """mel [B, T, n_mels] -> ``{"audio": [B, T * hop_length]}`` sampled in [-1, 1]."""
        return {"audio": self.generate(mel, speaker=speaker)}

    def sample(self, batch):
        """Audio generated from the first utterance's first ``sample_frames`` ground-truth frames."""
        frames = self.sample_frames
        speaker = batch.get("speaker")
        generated = self.generate(
            batch["mel"][:1, :frames], speaker=None if speaker is None else speaker[:1]
        )
        return {
            "audio": {
                "generated": generated[0],
                "target": batch["audio"][0, : tf.shape(generated)[1]],
            }
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            hop_length=self.hop_length,
            n_mels=self.n_mels,
            residual_channels=self.residual_channels,
            gate_channels=self.gate_channels,
            skip_channels=self.skip_channels,
            kernel_size=self.kernel_size,
            num_layers=self.num_layers,
            dilation_cycle=self.dilation_cycle,
            condition_channels=self.condition_channels,
            condition_kernel_size=self.condition_kernel_size,
            output_distribution=self.output_distribution,
            num_mixtures=self.num_mixtures,
            num_classes=self.num_classes,
            log_scale_min=self.log_scale_min,
            num_speakers=self.num_speakers,
            speaker_channels=self.speaker_channels,
            segment_frames=self.segment_frames,
            sample_frames=self.sample_frames,
        )
        return config
