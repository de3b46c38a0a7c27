"""The training and inference shared by the GAN vocoders (HiFi-GAN, Vocos).

A ``GANVocoder`` is a ``VocoderModel`` with two players (``LossGroup``s, docs/model_directory.md):
the discriminators first, then the generator. One training step crops random aligned
``(mel, audio)`` segments (``vocoder_windows.random_segments``), generates audio from the mel
crops and scores real and generated audio with every sub-discriminator. Losses
(docs/vocoders_gan.md):

* discriminators: ``sum_g w_g * A(d_loss(real, fake) over the sub-discriminators of g)``;
* generator: ``sum_g w_g * A(g_loss(fake)) + fm_weight * sum_g w_g * A(feature matching)
  + mel_weight * mean|log mel(audio) - log mel(generated)|``,

where ``g`` runs over the discriminator groups (``"mpd"``, ``"msd"``, ``"mrd"``), ``w_g`` are
``discriminator_weights``, ``A`` is the sum over sub-discriminators (HiFi-GAN) or their mean
(Vocos, ``average_over_discriminators``), the adversarial losses are least squares or hinge
(``ttszoo.layers.gan_losses``) and the log mel is ``log(max(mel, mel_loss_floor))`` of the
magnitude mel spectrogram computed in the graph (``ttszoo.audio.tf_spectrogram``, no
pre-emphasis). Subclasses build ``self.generator``, one discriminator layer per name of
``discriminator_groups`` (an attribute of that name).

With ``pretrain_mel_steps = N > 0`` (Siuzdak's Vocos code has the option), the first ``N``
steps train the generator on the mel L1 alone: the discriminator group starts at step ``N``
and until then no discriminator runs, so those steps cost the generator's pass only.
"""

import keras
import numpy as np
import tensorflow as tf

from ttszoo.audio import tf_spectrogram
from ttszoo.audio.config import AudioConfig
from ttszoo.errors import InvalidInputError
from ttszoo.layers import gan_losses
from ttszoo.models.base import LossGroup, VocoderModel
from ttszoo.models.vocoder_windows import check_aligned, generate_in_windows, random_segments


def _checked_discriminator_weights(model_name, groups, adversarial_loss, weights):
    """``weights`` as a dict after checking it and ``adversarial_loss``; clear errors."""
    if adversarial_loss not in gan_losses.ADVERSARIAL_LOSSES:
        raise InvalidInputError(
            f"adversarial_loss must be one of {gan_losses.ADVERSARIAL_LOSSES}, got "
            f"{adversarial_loss!r}."
        )
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(groups))
    if unknown:
        raise InvalidInputError(
            f"discriminator_weights names {unknown}, but {model_name}'s discriminator groups "
            f"are {list(groups)}."
        )
    return weights


class GANVocoder(VocoderModel):
    """Base of the GAN vocoders: crops, losses, the two players and chunked ``vocode``.

    Args:
      hop_length: audio samples per mel frame.
      n_mels: mel bands of the input features.
      segment_frames: frames of the random training crop (static shape).
      sample_rate: of the audio (for the mel loss).
      loss_n_fft, loss_win_length, loss_n_mels, loss_fmin, loss_fmax: the STFT and mel bank
        of the mel loss (hop ``hop_length``; ``loss_fmax=None``: ``sample_rate / 2``).
      mel_loss_floor: the floor of the mel magnitude before the log.
      mel_loss_weight: weight of the mel L1 (45 in both papers).
      feature_matching_weight: weight of the feature-matching loss (HiFi-GAN 2, Vocos 1).
      adversarial_loss: ``"least_squares"`` (HiFi-GAN) or ``"hinge"`` (Vocos).
      discriminator_weights: weight of each discriminator group (missing groups weigh 1).
      average_over_discriminators: average the losses over the sub-discriminators of a group
        instead of summing them (Vocos).
      chunk_frames, context_frames: ``vocode`` generates mels longer than
        ``chunk_frames + 2 * context_frames`` frames in chunks of ``chunk_frames`` with
        ``context_frames`` of context on each side (``vocoder_windows.generate_in_windows``).
        The windows run as one batch, so they save no memory and only add the context's
        frames: the default window of 2,112 frames (24.5 s at hop 256 and 22.05 kHz) takes
        ordinary utterances in one pass (docs/vocoders_gan.md).
      pretrain_mel_steps: steps at the start that train the generator on the mel L1 alone,
        with no discriminator (0: adversarial from the first step, as both papers).
      seed: seed of the training crops.
    """

    features = ("mel", "audio")
    discriminator_groups = ()

    def __init__(
        self,
        hop_length=256,
        n_mels=80,
        segment_frames=32,
        sample_rate=22050,
        loss_n_fft=1024,
        loss_win_length=1024,
        loss_n_mels=80,
        loss_fmin=0.0,
        loss_fmax=None,
        mel_loss_floor=1e-5,
        mel_loss_weight=45.0,
        feature_matching_weight=2.0,
        adversarial_loss="least_squares",
        discriminator_weights=None,
        average_over_discriminators=False,
        chunk_frames=2048,
        context_frames=32,
        pretrain_mel_steps=0,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        weights = _checked_discriminator_weights(
            type(self).__name__, self.discriminator_groups, adversarial_loss, discriminator_weights
        )
        if segment_frames < 1 or chunk_frames < 1 or min(context_frames, pretrain_mel_steps) < 0:
            raise InvalidInputError(
                f"segment_frames and chunk_frames must be >= 1, context_frames and "
                f"pretrain_mel_steps >= 0, got {segment_frames}, {chunk_frames}, "
                f"{context_frames} and {pretrain_mel_steps}."
            )
        self.hop_length = int(hop_length)
        self.n_mels = int(n_mels)
        self.segment_frames = int(segment_frames)
        self.sample_rate = int(sample_rate)
        self.loss_n_fft = int(loss_n_fft)
        self.loss_win_length = int(loss_win_length)
        self.loss_n_mels = int(loss_n_mels)
        self.loss_fmin = float(loss_fmin)
        self.loss_fmax = None if loss_fmax is None else float(loss_fmax)
        self.mel_loss_floor = float(mel_loss_floor)
        self.mel_loss_weight = float(mel_loss_weight)
        self.feature_matching_weight = float(feature_matching_weight)
        self.adversarial_loss = adversarial_loss
        self.discriminator_weights = {
            g: float(weights.get(g, 1.0)) for g in self.discriminator_groups
        }
        self.average_over_discriminators = bool(average_over_discriminators)
        self.chunk_frames = int(chunk_frames)
        self.context_frames = int(context_frames)
        self.pretrain_mel_steps = int(pretrain_mel_steps)
        # Whether the discriminators train in the coming steps (set_active_groups): a trace
        # constant, so the mel-only steps trace without them.
        self.adversarial = True
        self.seed = int(seed)
        self.loss_audio_config = self._make_loss_audio_config()
        self._mel_bank = np.asarray(tf_spectrogram.mel_matrix(self.loss_audio_config))
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def _make_loss_audio_config(self):
        """The ``AudioConfig`` of the mel L1 loss (no pre-emphasis)."""
        return AudioConfig(
            sample_rate=self.sample_rate,
            hop_length=self.hop_length,
            win_length=self.loss_win_length,
            n_fft=self.loss_n_fft,
            n_mels=self.loss_n_mels,
            fmin=self.loss_fmin,
            fmax=self.loss_fmax,
            preemphasis=0.0,
        )

    # What subclasses implement.

    def generate(self, mel, training=False):
        """Mel ``[B, T, n_mels]`` -> audio ``[B, T * hop_length]``: ``self.generator``."""
        return self.generator(mel, training=training)

    def discriminate(self, audio, training=False):
        """Audio ``[B, S]`` -> ``{group: [(scores, feature_maps), ...]}``: each group's
        discriminator layer (the attribute named like the group) on the audio."""
        return {
            group: layer(audio, training=training)
            for group, layer in zip(self.discriminator_groups, self.discriminators(), strict=True)
        }

    def discriminators(self):
        """The discriminator layers, one per group of ``discriminator_groups``."""
        return [getattr(self, group) for group in self.discriminator_groups]

    def discriminator_variables(self):
        """The trainable variables of every discriminator."""
        return [v for layer in self.discriminators() for v in layer.trainable_variables]

    def build(self, mel_shape):
        self.generator.build(mel_shape)
        frames = mel_shape[1]
        audio_shape = (mel_shape[0], None if frames is None else frames * self.hop_length)
        for layer in self.discriminators():
            layer.build(audio_shape)
        self.built = True

    def call(self, mel, training=False):
        return self.generate(mel, training=training)

    # Training.

    def log_mel(self, audio):
        """``log(max(mel magnitude, mel_loss_floor))`` ``[B, 1 + S // hop, loss_n_mels]``."""
        magnitude = tf_spectrogram.magnitude(audio, self.loss_audio_config)
        mel = tf.tensordot(magnitude, tf.constant(self._mel_bank), axes=1)
        return tf.math.log(tf.maximum(mel, self.mel_loss_floor))

    def random_segments(self, batch):
        """Random aligned crops ``(mel [B, F, M], audio [B, F * hop])`` of the batch."""
        mel, audio = batch["mel"], batch["audio"]
        check_aligned(mel, audio, self.hop_length, type(self).__name__, self.hop_hint())
        return random_segments(
            mel, audio, batch.get("mel_length"), self.segment_frames, self.hop_length,
            self.seed_generator,
        )  # fmt: skip

    def hop_hint(self):
        """Where the hop length comes from, for error messages."""
        return f"hop_length={self.hop_length}"

    def _aggregate(self, values):
        total = tf.add_n(values)
        return total / len(values) if self.average_over_discriminators else total

    def adversarial_losses(self, real, fake):
        """Discriminator, adversarial and feature-matching losses from ``discriminate``'s
        outputs on real and generated audio (float32 scalars)."""
        kind = self.adversarial_loss
        discriminator, adversarial, matching = [], [], []
        for group in self.discriminator_groups:
            weight = self.discriminator_weights[group]
            pairs = list(zip(real[group], fake[group], strict=True))
            discriminator.append(
                weight
                * self._aggregate(
                    [gan_losses.discriminator_loss(kind, r[0], f[0]) for r, f in pairs]
                )
            )
            adversarial.append(
                weight * self._aggregate([gan_losses.generator_loss(kind, f[0]) for _, f in pairs])
            )
            matching.append(
                weight
                * self._aggregate([gan_losses.feature_matching_loss(r[1], f[1]) for r, f in pairs])
            )
        return tf.add_n(discriminator), tf.add_n(adversarial), tf.add_n(matching)

    def compute_losses(self, batch, training=False):
        """``discriminator_loss`` and ``generator_loss`` with their parts, on random crops.

        While ``adversarial`` is False (the mel-only steps) no discriminator runs and the
        discriminator, adversarial and feature-matching losses are 0.
        """
        mel, audio = self.random_segments(batch)
        audio = tf.cast(audio, tf.float32)
        generated = tf.cast(self(mel, training=training), tf.float32)
        if self.adversarial:
            real = self.discriminate(audio, training=training)
            fake = self.discriminate(generated, training=training)
            discriminator, adversarial, matching = self.adversarial_losses(real, fake)
        else:
            discriminator = adversarial = matching = tf.constant(0.0)
        mel_l1 = tf.reduce_mean(tf.abs(self.log_mel(audio) - self.log_mel(generated)))
        generator = (
            adversarial + self.feature_matching_weight * matching + self.mel_loss_weight * mel_l1
        )
        return {
            "discriminator_loss": discriminator,
            "generator_loss": generator,
            "adversarial_loss": adversarial,
            "feature_matching_loss": matching,
            "mel_l1": mel_l1,
        }

    def loss_groups(self):
        """The discriminators first (from step ``pretrain_mel_steps``), then the generator
        (each with its own optimizer, gin scopes ``discriminator/`` and ``generator/``)."""
        return (
            LossGroup(
                "discriminator",
                "discriminator_loss",
                self.discriminator_variables(),
                start=self.pretrain_mel_steps,
            ),
            LossGroup("generator", "generator_loss", self.generator.trainable_variables),
        )

    def set_active_groups(self, names):
        """The discriminators run (and the generator meets them) only while they train."""
        self.adversarial = "discriminator" in names

    def trace_constants(self):
        return {"adversarial": self.adversarial}

    # Inference.

    def vocode(self, mel):
        """Mel ``[B, T, n_mels]`` -> ``{"audio": [B, T * hop_length]}`` float32 in [-1, 1].

        Mels longer than ``chunk_frames + 2 * context_frames`` frames (static length) are
        generated window by window (``vocoder_windows.generate_in_windows``), equal to one pass
        when ``context_frames`` covers the generator's receptive field.
        """
        mel = tf.convert_to_tensor(mel)
        if mel.shape.rank != 3:
            raise InvalidInputError(f"mel must be [batch, frames, n_mels], got shape {mel.shape}.")
        if mel.shape[-1] is not None and mel.shape[-1] != self.n_mels:
            raise InvalidInputError(
                f"This {type(self).__name__} takes mels of {self.n_mels} bands, got {mel.shape[-1]}; "
                "use the audio settings it was trained with."
            )
        if mel.shape[1] is None:
            audio = self.generate(mel)
        else:
            audio = generate_in_windows(
                self.generate, mel, self.hop_length, self.chunk_frames, self.context_frames
            )
        return {"audio": tf.clip_by_value(tf.cast(audio, tf.float32), -1.0, 1.0)}

    def sample(self, batch):
        """The first validation utterance vocoded from its ground-truth mel."""
        mel = batch["mel"][:1]
        return {"audio": {"vocoded": self.vocode(mel)["audio"][0], "target": batch["audio"][0]}}

    def generator_settings(self, names):
        """The generator's ``get_config`` entries ``names`` (the model's own arguments)."""
        config = self.generator.get_config()
        return {name: config[name] for name in names}

    def get_config(self):
        config = super().get_config()
        config.update(
            hop_length=self.hop_length,
            n_mels=self.n_mels,
            segment_frames=self.segment_frames,
            sample_rate=self.sample_rate,
            loss_n_fft=self.loss_n_fft,
            loss_win_length=self.loss_win_length,
            loss_n_mels=self.loss_n_mels,
            loss_fmin=self.loss_fmin,
            loss_fmax=self.loss_fmax,
            mel_loss_floor=self.mel_loss_floor,
            mel_loss_weight=self.mel_loss_weight,
            feature_matching_weight=self.feature_matching_weight,
            adversarial_loss=self.adversarial_loss,
            discriminator_weights=dict(self.discriminator_weights),
            average_over_discriminators=self.average_over_discriminators,
            chunk_frames=self.chunk_frames,
            context_frames=self.context_frames,
            pretrain_mel_steps=self.pretrain_mel_steps,
            seed=self.seed,
        )
        return config
