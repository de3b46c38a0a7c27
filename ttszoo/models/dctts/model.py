"""DCTTS: Text2Mel (text -> reduced mel) and SSRN (reduced mel -> linear spectrogram).

Tachibana, Uenoyama, Aihara 2017, "Efficiently Trainable Text-to-Speech System Based on Deep
Convolutional Networks with Guided Attention" (arXiv 1710.08969); layer stacks, losses and
inference as docs/references.md (DCTTS) describes them (blocks in ``blocks``, losses in
``losses``, autoregressive inference in ``inference``). The two models are trained
separately into two model directories (``gin/recipes/dctts/``) and chained by the Synthesizer.

Frame rates. The records hold mel and linear spectrograms at the full frame rate, padded to a
multiple of ``r`` (``make_dataset(frame_multiple=r)``). Both models take every ``r``-th mel
frame (the paper's ``S = mel[::r]``). ``Text2Mel.synthesize`` returns the reduced mel under
``"reduced_mel"`` and, under ``"mel"``, the same frames each repeated ``r`` times, so that
``"mel"`` has the full frame rate like every acoustic model's; ``SSRN.vocode`` takes that
full-rate mel, keeps every ``r``-th frame (the reduced mel exactly) and returns the linear
spectrogram at the full rate.
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers.attention import focus_rate
from ttszoo.layers.conv import HIGHWAY_ACTIVATIONS, NORMS
from ttszoo.layers.position import position_prior
from ttszoo.layers.validation import check_positive_int
from ttszoo.losses import guided_attention_loss
from ttszoo.models.base import AcousticModel, VocoderModel
from ttszoo.models.dctts.blocks import AudioDecoder, AudioEncoder, SSRNStack, TextEncoder
from ttszoo.models.dctts.inference import ATTENTION_MODES, synthesize_autoregressively
from ttszoo.models.dctts.losses import spectrogram_losses
from ttszoo.models.registry import register_model

PAPER = (
    "Tachibana, Uenoyama, Aihara 2017, Efficiently Trainable Text-to-Speech System Based on "
    "Deep Convolutional Networks with Guided Attention, arXiv 1710.08969"
)


def _check_bins(batch_value, expected, what, setting):
    bins = batch_value.shape[-1]
    if bins is not None and bins != expected:
        raise InvalidInputError(
            f"The batch has {bins} {what} bins but the model was built for {expected}; set "
            f"{setting} = {bins} (the records' audio config) or preprocess with matching settings."
        )


def _check_frame_multiple(frames, r):
    if frames is not None and frames % r:
        raise InvalidInputError(
            f"The batch has {frames} frames, not a multiple of the reduction factor {r}; build "
            f"the dataset with make_dataset(frame_multiple={r})."
        )


def _common_config(model):
    return dict(
        dropout=model.dropout,
        norm=model.norm,
        separable=model.separable,
        groups=model.groups,
        highway_activation=model.highway_activation,
        dtype=model.dtype_policy,
    )


def _check_common(norm, highway_activation, reduction_factor, sizes):
    """Raises InvalidInputError for a bad setting shared by Text2Mel and SSRN, or a size
    (``{"Text2Mel.d": d, ...}``, named as gin binds it) that is not a positive int."""
    for name, value in sizes.items():
        check_positive_int(value, name)
    if norm not in NORMS:
        raise InvalidInputError(f"norm must be one of {NORMS}, got {norm!r}.")
    if highway_activation not in HIGHWAY_ACTIVATIONS:
        raise InvalidInputError(
            f"highway_activation must be one of {HIGHWAY_ACTIVATIONS}, got {highway_activation!r}."
        )
    if isinstance(reduction_factor, bool) or not isinstance(reduction_factor, int):
        raise InvalidInputError(f"reduction_factor must be an int, got {reduction_factor!r}.")
    if reduction_factor < 1:
        raise InvalidInputError(f"reduction_factor must be >= 1, got {reduction_factor}.")


def _check_text2mel_settings(model):
    """Raises InvalidInputError for a bad Text2Mel setting (read from the stored arguments)."""
    attention_mode, position_rate = model.attention_mode, model.position_rate
    max_text_length, max_decoder_steps = model.max_text_length, model.max_decoder_steps
    previous_frame_dropout = model.previous_frame_dropout
    if attention_mode not in ATTENTION_MODES:
        raise InvalidInputError(
            f"attention_mode must be one of {ATTENTION_MODES}, got {attention_mode!r}."
        )
    if max_text_length < 1 or max_decoder_steps < 1:
        raise InvalidInputError("max_text_length and max_decoder_steps must be >= 1.")
    if not 0.0 <= previous_frame_dropout < 1.0:
        raise InvalidInputError(
            f"Text2Mel.previous_frame_dropout must be in [0, 1), got {previous_frame_dropout!r}."
        )
    if not isinstance(position_rate, (int, float)) or not position_rate >= 0.0:
        raise InvalidInputError(
            f"Text2Mel.position_rate must be >= 0 (0: no position prior), got {position_rate!r}; "
            "set it to the training data's reduced frames per symbol (docs/dctts.md)."
        )


@register_model(
    "dctts_text2mel",
    paper=PAPER,
    description="DCTTS Text2Mel: text to mel every r frames with a causal convolutional decoder "
    "and guided attention.",
)
class Text2Mel(AcousticModel):
    """DCTTS Text2Mel: TextEnc, AudioEnc, dot-product attention and AudioDec.

    ``A = softmax_n((Q K^T + w P) / sqrt(d))`` ``[B, T, N]`` (``w P``: the optional position
    prior, see ``position_rate``), ``R = A V``, ``Y = sigmoid(AudioDec([R; Q]))``
    where ``Q = AudioEnc(S shifted right by one frame)``, so ``Y_t`` predicts ``S_t`` from
    ``S_{<t}``. Loss: ``L1 + D_bin`` on the reduced mel plus ``attention_loss_weight`` times the
    guided attention loss (per-utterance ``N`` and ``T``, ``g``), masked for padding.

    Args:
      vocab_size: text symbols (``Tokenizer().vocab_size``: 40 for characters).
      e, d: embedding and hidden sizes (paper / dc_tts: 128, 256).
      n_mels: mel bins ``F`` of the records.
      reduction_factor: ``r``; the model works on every ``r``-th mel frame (paper: 4).
      dropout, norm, separable, groups, highway_activation: the conv layers' options
        (``ttszoo.layers.DilatedConv1D``, ``HighwayConv1D``).
      guided_attention_g: ``g`` of the guide (0.2).
      attention_loss_weight, l1_weight, binary_divergence_weight: loss weights.
      max_text_length: the longest text ``synthesize`` accepts, in symbols (dc_tts: 180).
      max_decoder_steps: the guard on reduced frames per utterance at inference.
      attention_mode: ``"paper"`` (forcibly incremental attention), ``"window"`` (dc_tts) or
        ``"none"``, at inference.
      attention_window: the window of ``"window"`` (dc_tts: 3).
      previous_frame_dropout: dropout rate on the previous frames that AudioEnc reads in
        training (0: dc_tts). Like Tacotron's pre-net dropout it makes the decoder rely on
        the text it reads through the attention rather than on the audio it was given
        (docs/dctts.md, "Does it read?").
      position_rate: ``rho``, reduced frames per text symbol. When above 0 the scores get a
        position prior ``P[t, n] = PE(t) . PE(rho n)`` (sinusoidal encodings of size ``d``,
        Deep Voice 3's position rate; ``ttszoo.layers.position``) times a learned weight ``w``
        (starting at 1): it favours the diagonal ``t ~ rho n`` where the keys, whose
        receptive field reaches 82 symbols, cannot tell how far into a long text they are.
        0 (the paper and dc_tts): no prior and no ``w``.
    """

    def __init__(
        self,
        vocab_size=40,
        e=128,
        d=256,
        n_mels=80,
        reduction_factor=4,
        dropout=0.05,
        norm="layer",
        separable=False,
        groups=8,
        highway_activation="linear",
        guided_attention_g=0.2,
        attention_loss_weight=1.0,
        l1_weight=1.0,
        binary_divergence_weight=1.0,
        max_text_length=180,
        max_decoder_steps=400,
        attention_mode="paper",
        attention_window=3,
        previous_frame_dropout=0.0,
        position_rate=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        sizes = {"vocab_size": vocab_size, "e": e, "d": d, "n_mels": n_mels}
        _check_common(
            norm,
            highway_activation,
            reduction_factor,
            {f"Text2Mel.{k}": v for k, v in sizes.items()},
        )
        self.vocab_size = vocab_size
        self.e = e
        self.d = d
        self.n_mels = n_mels
        self.reduction_factor = reduction_factor
        self.dropout = dropout
        self.norm = norm
        self.separable = separable
        self.groups = groups
        self.highway_activation = highway_activation
        self.guided_attention_g = guided_attention_g
        self.attention_loss_weight = attention_loss_weight
        self.l1_weight = l1_weight
        self.binary_divergence_weight = binary_divergence_weight
        self.max_text_length = max_text_length
        self.max_decoder_steps = max_decoder_steps
        self.attention_mode = attention_mode
        self.forcing_mode = attention_mode
        self.attention_window = attention_window
        self.previous_frame_dropout = previous_frame_dropout
        self.position_rate = position_rate
        _check_text2mel_settings(self)
        self.frame_dropout = keras.layers.Dropout(previous_frame_dropout, name="frame_dropout")
        common = _common_config(self)
        self.text_encoder = TextEncoder(vocab_size, e, d, name="text_encoder", **common)
        self.audio_encoder = AudioEncoder(d, name="audio_encoder", **common)
        self.audio_decoder = AudioDecoder(d, n_mels, name="audio_decoder", **common)
        self._synthesis_functions = {}  # one traced decoder per (attention_mode, window)

    def build(self, input_shape=None):
        """Builds the three blocks from the model's sizes (the input shapes do not matter)."""
        shapes = {
            self.text_encoder: (None, None),
            self.audio_encoder: (None, None, self.n_mels),
            self.audio_decoder: (None, None, 2 * self.d),
        }
        for block, shape in shapes.items():
            if not block.built:
                block.build(shape)
        if self.position_rate > 0 and not hasattr(self, "position_weight"):
            self.position_weight = self.add_weight(
                shape=(), initializer="ones", name="position_weight"
            )
        self.built = True

    # The pieces, shared by the parallel (training) pass and the frame-by-frame decoder.

    def attention_scores(self, queries, keys, text_mask, first_frame=0):
        """``(Q K^T + w P) / sqrt(d)`` float32 ``[B, T, N]``, padded symbols at -1e9.

        ``first_frame``: the frame index of ``queries[:, 0]`` (the decoder step when decoding
        frame by frame), which places the queries in the position prior ``P``.
        """
        scores = tf.matmul(
            tf.cast(queries, tf.float32), tf.cast(keys, tf.float32), transpose_b=True
        )
        if self.position_rate > 0:
            frames = tf.range(tf.shape(queries)[1]) + first_frame
            symbols = self.position_rate * tf.cast(tf.range(tf.shape(keys)[1]), tf.float32)
            prior = position_prior(frames, symbols, self.d)
            scores += tf.cast(self.position_weight, tf.float32) * prior[None]
        scores /= tf.sqrt(float(self.d))
        return tf.where(tf.cast(text_mask, tf.bool)[:, None, :], scores, -1e9)

    def decoder_inputs(self, probabilities, values, queries):
        """``R' = [A V; Q]`` ``[B, T, 2d]`` from the attention ``[B, T, N]``."""
        read = tf.matmul(tf.cast(probabilities, values.dtype), values)
        return tf.concat([read, tf.cast(queries, read.dtype)], axis=-1)

    def call(self, inputs, training=False):
        """Parallel (teacher-forced) pass.

        Args:
          inputs: ``(text int32 [B, N], previous_frames float [B, T, F])``, the frames shifted
            right by one (frame 0 is zeros).

        Returns:
          ``(logits float [B, T, F], alignment float32 [B, T, N])``.
        """
        text, frames = inputs
        keys, values = self.text_encoder(text, training=training)
        queries = self.audio_encoder(
            self.frame_dropout(frames, training=training), training=training
        )
        alignment = tf.nn.softmax(self.attention_scores(queries, keys, text > 0), axis=-1)
        logits = self.audio_decoder(
            self.decoder_inputs(alignment, values, queries), training=training
        )
        return logits, alignment

    def initial_decoder_state(self, batch_size):
        """``(t = 0, AudioEnc queues, AudioDec queues)``: the state before the first frame."""
        if not self.built:
            self.build()
        return (
            tf.constant(0),
            self.audio_encoder.initial_state(batch_size),
            self.audio_decoder.initial_state(batch_size),
        )

    def decode_step(self, frame, states, keys, values, text_mask, score_fn=None, attention_fn=None):
        """One decoder frame: only frame ``t`` is computed, from cached queues.

        Args:
          frame: ``[B, 1, F]`` the previous output (zeros at t = 0).
          states: ``initial_decoder_state`` or the states a previous step returned.
          keys, values: ``[B, N, d]`` from ``text_encoder``; text_mask: bool ``[B, N]``.
          score_fn: optional ``[B, N] -> [B, N]`` on the scores before the softmax.
          attention_fn: optional ``[B, N] -> [B, N]`` on the attention after it.

        Returns:
          ``(query [B, 1, d], logits [B, F], attention float32 [B, N], states)``.
        """
        position, encoder_states, decoder_states = states
        query, encoder_states = self.audio_encoder.step(frame, encoder_states, position)
        scores = self.attention_scores(query, keys, text_mask, first_frame=position)[:, 0]
        if score_fn is not None:
            scores = score_fn(scores)
        probabilities = tf.nn.softmax(scores, axis=-1)
        if attention_fn is not None:
            probabilities = attention_fn(probabilities)
        logits, decoder_states = self.audio_decoder.step(
            self.decoder_inputs(probabilities[:, None], values, query), decoder_states, position
        )
        return query, logits[:, 0], probabilities, (position + 1, encoder_states, decoder_states)

    # The model interface (docs/model_directory.md).

    def _reduced_targets(self, batch):
        r = self.reduction_factor
        _check_bins(batch["mel"], self.n_mels, "mel", "Text2Mel.n_mels")
        _check_frame_multiple(batch["mel"].shape[1], r)
        mel = tf.cast(batch["mel"], tf.float32)[:, ::r]
        frame_length = -(-tf.cast(batch["mel_length"], tf.int32) // r)
        mask = tf.sequence_mask(frame_length, tf.shape(mel)[1], tf.float32)
        return mel, frame_length, mask

    def teacher_forced(self, batch, training=False):
        """Runs the parallel pass on a batch; returns logits, alignment and the reduced targets."""
        mel, frame_length, mask = self._reduced_targets(batch)
        previous = tf.pad(mel[:, :-1], [[0, 0], [1, 0], [0, 0]])
        logits, alignment = self((batch["text"], previous), training=training)
        return logits, alignment, mel, frame_length, mask

    def compute_losses(self, batch, training=False):
        logits, alignment, mel, frame_length, mask = self.teacher_forced(batch, training)
        l1, divergence = spectrogram_losses(logits, mel, mask)
        attention = guided_attention_loss(
            alignment, frame_length, batch["text_length"], self.guided_attention_g
        )
        loss = (
            self.l1_weight * l1
            + self.binary_divergence_weight * divergence
            + self.attention_loss_weight * attention
        )
        rate = focus_rate(alignment[:, None], mask > 0)
        return {
            "loss": loss,
            "mel_l1": l1,
            "mel_binary_divergence": divergence,
            "guided_attention": attention,
            "focus_rate": tf.reduce_mean(rate),
        }

    def set_attention_forcing(self, enabled):
        """``attention_mode`` as configured (``forcing_mode``) when enabled, else ``"none"``."""
        self.attention_mode = self.forcing_mode if enabled else "none"

    def synthesize(self, text_ids, max_steps=None):
        """Text ids ``[B, N]`` -> mel, frame by frame (see ``inference``).

        Returns:
          dict: ``"mel"`` float32 ``[B, T * r, F]`` (each reduced frame repeated r times),
          ``"reduced_mel"`` ``[B, T, F]``, ``"alignment"`` ``[B, N, T]``, ``"mel_length"`` and
          ``"reduced_length"`` int32 ``[B]``, ``"stopped"`` bool ``[B]`` (False: the
          ``max_decoder_steps`` guard ended it), ``"forced"`` bool ``[B, T]`` and
          ``"forced_steps"`` int32 ``[B]`` (steps whose attention forcibly incremental
          attention replaced).

        ``attention_mode`` and ``attention_window`` may be changed between calls (e.g.
        ``"none"`` to measure the model's own attention without forcing): each setting has its
        own traced decoder.
        """
        text_ids = self.check_text_ids(text_ids)
        key = (self.attention_mode, self.attention_window)
        if key not in self._synthesis_functions:
            mode, window = key
            self._synthesis_functions[key] = tf.function(
                lambda ids, steps: synthesize_autoregressively(self, ids, steps, mode, window),
                reduce_retracing=True,
            )
        steps = tf.constant(max_steps or self.max_decoder_steps, tf.int32)
        outputs = dict(self._synthesis_functions[key](text_ids, steps))
        outputs["mel"] = tf.repeat(outputs["reduced_mel"], self.reduction_factor, axis=1)
        outputs["mel_length"] = outputs["reduced_length"] * self.reduction_factor
        return outputs

    def sample(self, batch):
        logits, alignment, mel, frame_length, _ = self.teacher_forced(batch)
        frames, symbols = frame_length[0], batch["text_length"][0]
        synthesized = self.synthesize(batch["text"][:1, :symbols])
        steps = synthesized["reduced_length"][0]
        return {
            "images": {
                "alignment_teacher_forced": tf.transpose(alignment[0, :frames, :symbols]),
                "mel_teacher_forced": tf.transpose(
                    tf.sigmoid(tf.cast(logits[0, :frames], tf.float32))
                ),
                "mel_target": tf.transpose(mel[0, :frames]),
                "alignment_synthesized": synthesized["alignment"][0, :, :steps],
                "mel_synthesized": tf.transpose(synthesized["reduced_mel"][0, :steps]),
            }
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            e=self.e,
            d=self.d,
            n_mels=self.n_mels,
            reduction_factor=self.reduction_factor,
            dropout=self.dropout,
            norm=self.norm,
            separable=self.separable,
            groups=self.groups,
            highway_activation=self.highway_activation,
            guided_attention_g=self.guided_attention_g,
            attention_loss_weight=self.attention_loss_weight,
            l1_weight=self.l1_weight,
            binary_divergence_weight=self.binary_divergence_weight,
            max_text_length=self.max_text_length,
            max_decoder_steps=self.max_decoder_steps,
            attention_mode=self.attention_mode,
            attention_window=self.attention_window,
            previous_frame_dropout=self.previous_frame_dropout,
            position_rate=self.position_rate,
        )
        return config


@register_model(
    "dctts_ssrn",
    paper=PAPER,
    description="DCTTS SSRN: mel every r frames to the full-rate linear spectrogram "
    "(Griffin-Lim makes the audio).",
)
class SSRN(VocoderModel):
    """DCTTS' spectrogram super-resolution network, trained on ground-truth mels.

    Input every ``r``-th mel frame ``[B, T, F]``; output the linear spectrogram
    ``Z = sigmoid(logits)`` ``[B, T * r, F']``. Loss ``L1 + D_bin`` on the unpadded frames.

    Args:
      n_mels: ``F``; n_linear: ``F' = n_fft / 2 + 1`` of the records.
      c: channels (paper / dc_tts: 512).
      reduction_factor: ``r``, a power of two (paper: 4).
      dropout, norm, separable, groups, highway_activation: the conv layers' options.
      deconv_kernel_size: of the stride-2 transposed convolutions (dc_tts: 3).
      l1_weight, binary_divergence_weight: loss weights.
    """

    features = ("mel", "linear")

    def __init__(
        self,
        n_mels=80,
        n_linear=1025,
        c=512,
        reduction_factor=4,
        dropout=0.05,
        norm="layer",
        separable=False,
        groups=8,
        highway_activation="linear",
        deconv_kernel_size=3,
        l1_weight=1.0,
        binary_divergence_weight=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        sizes = {"n_mels": n_mels, "n_linear": n_linear, "c": c}
        _check_common(
            norm, highway_activation, reduction_factor, {f"SSRN.{k}": v for k, v in sizes.items()}
        )
        self.n_mels = n_mels
        self.n_linear = n_linear
        self.c = c
        self.reduction_factor = reduction_factor
        self.dropout = dropout
        self.norm = norm
        self.separable = separable
        self.groups = groups
        self.highway_activation = highway_activation
        self.deconv_kernel_size = deconv_kernel_size
        self.l1_weight = l1_weight
        self.binary_divergence_weight = binary_divergence_weight
        self.stack = SSRNStack(
            c,
            n_linear,
            reduction_factor,
            deconv_kernel_size,
            name="ssrn",
            **_common_config(self),
        )

    def call(self, reduced_mel, training=False):
        """Reduced mel ``[B, T, F]`` -> linear logits ``[B, T * r, F']``."""
        return self.stack(reduced_mel, training=training)

    def _reduce(self, mel):
        _check_bins(mel, self.n_mels, "mel", "SSRN.n_mels")
        _check_frame_multiple(mel.shape[1], self.reduction_factor)
        return tf.cast(mel, self.compute_dtype)[:, :: self.reduction_factor]

    def compute_losses(self, batch, training=False):
        _check_bins(batch["linear"], self.n_linear, "linear", "SSRN.n_linear")
        logits = self(self._reduce(batch["mel"]), training=training)
        l1, divergence = spectrogram_losses(logits, batch["linear"], batch["mel_mask"])
        loss = self.l1_weight * l1 + self.binary_divergence_weight * divergence
        return {"loss": loss, "linear_l1": l1, "linear_binary_divergence": divergence}

    def vocode(self, mel):
        """Full-rate mel ``[B, T, F]`` (T a multiple of r) -> ``{"linear": [B, T, F']}``."""
        mel = tf.convert_to_tensor(mel)
        if mel.shape.rank != 3:
            raise InvalidInputError(
                f"SSRN.vocode takes a mel [batch, frames, bins], got {mel.shape}."
            )
        return {"linear": tf.sigmoid(tf.cast(self(self._reduce(mel)), tf.float32))}

    def sample(self, batch):
        frames = batch["mel_length"][0]
        linear = self.vocode(batch["mel"][:1])["linear"][0, :frames]
        return {
            "images": {
                "linear_predicted": tf.transpose(linear),
                "linear_target": tf.transpose(batch["linear"][0, :frames]),
            },
            "linear": {"predicted": linear},
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            n_mels=self.n_mels,
            n_linear=self.n_linear,
            c=self.c,
            reduction_factor=self.reduction_factor,
            dropout=self.dropout,
            norm=self.norm,
            separable=self.separable,
            groups=self.groups,
            highway_activation=self.highway_activation,
            deconv_kernel_size=self.deconv_kernel_size,
            l1_weight=self.l1_weight,
            binary_divergence_weight=self.binary_divergence_weight,
        )
        return config
