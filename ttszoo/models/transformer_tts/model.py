"""Transformer TTS with stepwise monotonic attention and a reduction-factor schedule.

Li, Liu, Liu, Zhao, Liu 2019, "Neural Speech Synthesis with Transformer Network"
(arXiv 1809.08895), with the encoder-decoder attention of configured decoder layers made stepwise
monotonic (He, Deng, He 2019, arXiv 1906.00672; used for autoregressive Transformer TTS by
Liang et al. 2020, "Enhancing Monotonicity for Robust Autoregressive Transformer TTS") and the
reduction-factor schedule, static ``max_r`` projection and 3-class stop token of
as-ideas/TransformerTTS (docs/references.md, Reduction factor). See docs/transformer_tts.md.

Five Python constants are baked into a traced training step and listed in
``trace_constants()``: the reduction factor ``r``, the SMA switch, diagonal forcing and the
scheduled sampling rate and passes; the callbacks of ``ttszoo.training.callbacks``
(``ReductionFactorCallback``, ``MonotonicAttentionSwitch``, ``DiagonalAttentionForcing``,
``ScheduledSampling``) change them during training. The
trainer keeps one compiled step per combination.
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers import (
    ReductionProjection,
    SilenceClock,
    StepwiseMonotonicMultiHeadAttention,
    next_silence_run,
    reduced_length,
    silence_run_lengths,
    subsample_frames,
    trim_frames,
)
from ttszoo.layers.position import sinusoidal_encoding
from ttszoo.layers.tracking import track_layers
from ttszoo.losses import guided_attention_loss, masked_l1
from ttszoo.models.base import AcousticModel
from ttszoo.models.registry import register_model
from ttszoo.models.transformer_tts.blocks import (
    DecoderBlock,
    DecoderPrenet,
    EncoderBlock,
    EncoderPrenet,
    Postnet,
)

PAD, CONTINUE, STOP = 0, 1, 2

# The constructor arguments, each stored under its own name and returned by ``get_config``.
HYPERPARAMETERS = (
    "vocab_size",
    "n_mels",
    "embedding_dim",
    "model_dim",
    "encoder_prenet_layers",
    "encoder_prenet_kernel",
    "encoder_layers",
    "encoder_heads",
    "decoder_layers",
    "decoder_heads",
    "key_dim",
    "feed_forward_dim",
    "dropout",
    "decoder_prenet_dim",
    "decoder_prenet_dropout",
    "postnet_channels",
    "postnet_layers",
    "postnet_kernel",
    "max_r",
    "initial_reduction_factor",
    "sma_layers",
    "sma_noise_std",
    "sma_score_bias_init",
    "sma_head_selection",
    "initial_monotonic",
    "stop_loss_scaling",
    "diagonal_loss_weight",
    "diagonal_width",
    "go_value",
    "max_frames_per_symbol",
    "max_synthesis_frames",
    "hard_inference",
    "prenet_noise_seed",
    "silence_clock_frames",
    "silence_threshold",
)
_POSITIVE_INTS = (
    "vocab_size",
    "n_mels",
    "model_dim",
    "decoder_layers",
    "max_r",
    "max_frames_per_symbol",
    "max_synthesis_frames",
)


def _check_arguments(arguments):
    """Validates the constructor ``arguments`` (by name); returns the sorted SMA layer indices."""
    for name in _POSITIVE_INTS:
        value = arguments[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"{name} must be a positive int, got {value!r}.")
    if arguments["model_dim"] % 2:
        raise InvalidInputError(
            f"model_dim must be even (sinusoidal encodings), got {arguments['model_dim']}."
        )
    clock = arguments["silence_clock_frames"]
    if isinstance(clock, bool) or not isinstance(clock, int) or clock < 0:
        raise InvalidInputError(
            f"silence_clock_frames must be 0 (no clock) or a positive int, got {clock!r}."
        )
    decoder_layers, sma_layers = arguments["decoder_layers"], arguments["sma_layers"]
    layer_indices = range(decoder_layers) if sma_layers is None else sma_layers
    normalised = set()
    for index in layer_indices:
        if not isinstance(index, int) or not -decoder_layers <= index < decoder_layers:
            raise InvalidInputError(
                f"sma_layers entries must be decoder layer indices in "
                f"[-{decoder_layers}, {decoder_layers}), got {index!r}."
            )
        normalised.add(index % decoder_layers)
    return sorted(normalised)


def stop_labels(mel_length, num_frames):
    """3-class stop labels per frame: 1 continue, 2 stop (the last real frame), 0 padding.

    Args:
      mel_length: [B] int frame counts; num_frames: padded length T.

    Returns:
      [B, T] int32.
    """
    frames = tf.range(num_frames)[tf.newaxis, :]
    length = tf.cast(mel_length, tf.int32)[:, tf.newaxis]
    return tf.where(frames < length - 1, CONTINUE, tf.where(frames == length - 1, STOP, PAD))


def stop_loss(logits, labels, stop_scaling):
    """Weighted 3-class cross entropy (as-ideas/TransformerTTS ``new_scaled_crossentropy``).

    Weights are 0 for padding, 1 for continue and ``stop_scaling`` for stop; the weighted sum is
    divided by the number of non-padding frames (TTT divides by all frames).

    Args:
      logits: [B, T, 3]; labels: [B, T] int; stop_scaling: weight of the stop frames.

    Returns:
      Scalar float32.
    """
    labels = tf.cast(labels, tf.int32)
    entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=tf.cast(logits, tf.float32)
    )
    real = tf.cast(labels != PAD, tf.float32)
    weights = real + (stop_scaling - 1.0) * tf.cast(labels == STOP, tf.float32)
    return tf.reduce_sum(entropy * weights) / tf.maximum(tf.reduce_sum(real), 1.0)


@register_model(
    "transformer_tts",
    paper="Li et al. 2019, arXiv 1809.08895; He et al. 2019, arXiv 1906.00672 (SMA)",
    description="Transformer text-to-mel with stepwise monotonic encoder-decoder attention, "
    "a reduction-factor schedule and a 3-class stop token.",
)
class TransformerTTS(AcousticModel):
    """Text ids -> mel spectrogram, autoregressive, ``r`` frames per decoder step.

    Training (``compute_losses``): teacher forcing. The decoder input of step ``k`` is frame
    ``k * r`` of ``[go, mel[:-1]]`` (``subsample_frames``), its positional encoding is taken at
    position ``k * r``, and the step emits frames ``k*r .. k*r + r - 1`` through the
    ``ReductionProjection``. Losses: L1 of the mel before and after the postnet (padding masked),
    the weighted 3-class stop loss and, while ``diagonal_forcing``, the guided attention loss of
    every decoder layer's encoder-decoder alignment.

    Inference (``synthesize``): incremental decoding with a key/value cache per decoder layer
    (each step costs the same, no re-run over the prefix), SMA in soft or hard mode
    (``hard_inference``), ending at the first frame whose stop class wins or at the maximum
    length ``min(max_synthesis_frames, max_frames_per_symbol * symbols)``.

    Args:
      vocab_size: number of text symbols (id 0 is padding).
      n_mels: mel channels.
      embedding_dim: symbol embedding size.
      model_dim: Transformer width D (even).
      encoder_prenet_layers, encoder_prenet_kernel: convolutional encoder prenet.
      encoder_layers, encoder_heads: encoder blocks and their heads.
      decoder_layers, decoder_heads: decoder blocks and their heads.
      key_dim: size of every attention head.
      feed_forward_dim: inner size of the feed-forward nets.
      dropout: dropout of the Transformer blocks.
      decoder_prenet_dim, decoder_prenet_dropout: decoder prenet.
      postnet_channels, postnet_layers, postnet_kernel: the postnet.
      max_r: the largest reduction factor (sets the projection sizes).
      initial_reduction_factor: r before any schedule changes it; ``max_r`` if None.
      sma_layers: indices of the decoder layers whose encoder-decoder attention is SMA (negative
        indices count from the end); all layers if None, none if empty.
      sma_noise_std, sma_score_bias_init, sma_head_selection: see ``DecoderBlock``.
      initial_monotonic: the SMA switch before ``MonotonicAttentionSwitch`` turns it on.
      stop_loss_scaling: weight of the stop frames in the stop loss (TTT: 8).
      diagonal_loss_weight, diagonal_width: the guided attention loss while forcing.
      go_value: value of every channel of the "go" frame (TTT's ``mel_start_value``: 0.5).
      max_frames_per_symbol, max_synthesis_frames: the synthesis length limit.
      hard_inference: hard monotonic alignment in ``synthesize`` (SMA layers only).
      prenet_noise_seed: None decodes without noise; an int keeps the decoder prenet's dropout
        on in ``synthesize`` (Tacotron 2's inference noise), each step's masks drawn from the
        stateless seed ``[prenet_noise_seed, step]``.
      silence_clock_frames: 0 (no clock) or the longest silence run, in frames, that the
        ``SilenceClock`` tells apart: each decoder input then also carries the length of the run
        of silent input frames ending at it (docs/transformer_tts.md, point 17).
      silence_threshold: a decoder input frame is silent when its mean over the mel channels is
        below this (the features are normalised to [0, 1]; eSpeak NG's pauses sit at 0).
    """

    def __init__(
        self,
        vocab_size=101,
        n_mels=80,
        embedding_dim=256,
        model_dim=256,
        encoder_prenet_layers=3,
        encoder_prenet_kernel=5,
        encoder_layers=4,
        encoder_heads=4,
        decoder_layers=4,
        decoder_heads=4,
        key_dim=64,
        feed_forward_dim=1024,
        dropout=0.1,
        decoder_prenet_dim=256,
        decoder_prenet_dropout=0.5,
        postnet_channels=256,
        postnet_layers=5,
        postnet_kernel=5,
        max_r=10,
        initial_reduction_factor=None,
        sma_layers=None,
        sma_noise_std=1.0,
        sma_score_bias_init=3.5,
        sma_head_selection=0.0,
        initial_monotonic=False,
        stop_loss_scaling=8.0,
        diagonal_loss_weight=1.0,
        diagonal_width=0.2,
        go_value=0.5,
        max_frames_per_symbol=20,
        max_synthesis_frames=2000,
        hard_inference=False,
        prenet_noise_seed=None,
        silence_clock_frames=0,
        silence_threshold=0.05,
        **kwargs,
    ):
        super().__init__(**kwargs)
        arguments = locals()
        self._sma_layer_indices = _check_arguments(arguments)
        for name in HYPERPARAMETERS:
            setattr(self, name, arguments[name])
        if initial_reduction_factor is None:
            self.initial_reduction_factor = max_r
        self.sma_layers = None if sma_layers is None else list(sma_layers)
        self.initial_monotonic = bool(initial_monotonic)
        self.hard_inference = bool(hard_inference)
        self.prenet_noise_seed = prenet_noise_seed  # validated by the property
        self.diagonal_forcing = False
        # Share of decoder inputs predicted in training, and the passes that predict them
        # (``scheduled_sampling_frames``); ``ttszoo.training.ScheduledSampling`` sets both.
        self.scheduled_sampling_rate = 0.0
        self.scheduled_sampling_passes = 1
        self._build_encoder()
        self._build_decoder()
        self._build_outputs()
        self._add_state_weights()
        self._synthesis_functions = {}

    def _build_encoder(self):
        policy = self.dtype_policy
        self.embedding = keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, dtype=policy, name="embedding"
        )
        self.encoder_prenet = EncoderPrenet(
            self.model_dim,
            self.model_dim,
            self.encoder_prenet_layers,
            self.encoder_prenet_kernel,
            self.dropout,
            dtype=policy,
            name="encoder_prenet",
        )
        blocks = [
            EncoderBlock(
                self.encoder_heads,
                self.key_dim,
                self.feed_forward_dim,
                self.dropout,
                dtype=policy,
                name=f"encoder_{i}",
            )
            for i in range(self.encoder_layers)
        ]
        self.encoder_blocks = track_layers(self, blocks, "encoder_block_{}")
        self.encoder_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, dtype=policy, name="encoder_norm"
        )

    def _build_decoder(self):
        policy = self.dtype_policy
        self.decoder_prenet = DecoderPrenet(
            self.model_dim,
            self.decoder_prenet_dim,
            self.decoder_prenet_dropout,
            dtype=policy,
            name="decoder_prenet",
        )
        blocks = [
            DecoderBlock(
                self.decoder_heads,
                self.key_dim,
                self.feed_forward_dim,
                self.dropout,
                stepwise_monotonic=i in self._sma_layer_indices,
                sma_noise_std=self.sma_noise_std,
                sma_score_bias_init=self.sma_score_bias_init,
                sma_head_selection=self.sma_head_selection,
                monotonic=self.initial_monotonic,
                dtype=policy,
                name=f"decoder_{i}",
            )
            for i in range(self.decoder_layers)
        ]
        self.decoder_blocks = track_layers(self, blocks, "decoder_block_{}")
        self.decoder_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, dtype=policy, name="decoder_norm"
        )
        self.input_dropout = keras.layers.Dropout(self.dropout, dtype=policy, name="input_dropout")
        self.silence_clock = None
        if self.silence_clock_frames:
            self.silence_clock = SilenceClock(
                self.silence_clock_frames, self.model_dim, dtype=policy, name="silence_clock"
            )

    def _build_outputs(self):
        policy, r = self.dtype_policy, self.initial_reduction_factor
        self.mel_projection = ReductionProjection(
            self.n_mels, self.max_r, r, dtype=policy, name="mel_projection"
        )
        self.stop_projection = ReductionProjection(
            3, self.max_r, r, dtype=policy, name="stop_projection"
        )
        self.postnet = Postnet(
            self.postnet_channels,
            self.postnet_layers,
            self.postnet_kernel,
            self.dropout,
            dtype=policy,
            name="postnet",
        )

    def _add_state_weights(self):
        # Scales of the positional encodings (Li et al. 2019: trainable, initialised to 1).
        self.encoder_position_scale = self.add_weight(
            name="encoder_position_scale", shape=(), initializer="ones"
        )
        self.decoder_position_scale = self.add_weight(
            name="decoder_position_scale", shape=(), initializer="ones"
        )
        # [r, SMA switch] of the last training step, checkpointed so that a model restored from
        # its directory decodes the way it was last trained (see ``synthesize``).
        self.trained_decoding_state = self.add_weight(
            name="trained_decoding_state",
            shape=(2,),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )

    # The trace constants.

    @property
    def reduction_factor(self):
        """The current reduction factor r (a Python int read at trace time)."""
        return self.mel_projection.r

    @reduction_factor.setter
    def reduction_factor(self, value):
        self.mel_projection.r = value
        self.stop_projection.r = value

    def _sma_attention_layers(self):
        return [
            layer
            for layer in self._flatten_layers(include_self=False)
            if isinstance(layer, StepwiseMonotonicMultiHeadAttention)
        ]

    @property
    def monotonic(self):
        """Whether the SMA layers use the stepwise monotonic alignment (the switch)."""
        if not self._sma_layer_indices:
            return False
        layers = self._sma_attention_layers()
        if not layers:
            return all(self.decoder_blocks[i].monotonic for i in self._sma_layer_indices)
        return all(layer.monotonic for layer in layers)

    @monotonic.setter
    def monotonic(self, value):
        for index in self._sma_layer_indices:
            self.decoder_blocks[index].monotonic = bool(value)
        for layer in self._sma_attention_layers():
            layer.monotonic = bool(value)

    def trace_constants(self):
        return {
            "reduction_factor": self.reduction_factor,
            "monotonic": self.monotonic,
            "diagonal_forcing": bool(self.diagonal_forcing),
            "scheduled_sampling_rate": float(self.scheduled_sampling_rate),
            "scheduled_sampling_passes": int(self.scheduled_sampling_passes),
        }

    # Encoder and decoder.

    def encode(self, text_ids, training=False):
        """Text ids [B, N] -> (memory [B, N, D], memory_mask [B, N] bool)."""
        stages, mask = self.encoder_stages(text_ids, training)
        return stages["memory"], mask

    def encoder_stages(self, text_ids, training=False):
        """The encoder, stage by stage: text ids [B, N] -> (stages, memory_mask [B, N] bool).

        ``stages`` maps ``"embedding"`` [B, N, E], ``"prenet"``, ``"positions_added"``,
        ``"block_0"`` ... (one per encoder block) and ``"memory"`` (what ``encode`` returns),
        each [B, N, D], in that order: for probes of what each stage keeps of the text
        (docs/transformer_tts.md).
        """
        mask = text_ids > 0
        stages = {"embedding": self.embedding(text_ids)}
        hidden = self.encoder_prenet(stages["embedding"], valid=mask, training=training)
        stages["prenet"] = hidden
        positions = sinusoidal_encoding(tf.range(tf.shape(text_ids)[1]), self.model_dim)
        scale = tf.cast(self.encoder_position_scale, hidden.dtype)
        hidden = self.input_dropout(
            hidden + scale * tf.cast(positions, hidden.dtype), training=training
        )
        stages["positions_added"] = hidden
        for index, block in enumerate(self.encoder_blocks):
            hidden, _ = block(hidden, valid=mask, training=training)
            stages[f"block_{index}"] = hidden
        stages["memory"] = self.encoder_norm(hidden) * tf.cast(mask, hidden.dtype)[:, :, None]
        return stages, mask

    def _decoder_inputs(self, frames, positions, silent_steps, training, noise_seed=None):
        """Decoder inputs [B, S, D] from frames [B, S, n_mels], step indices [S] and, for the
        silence clock, the silence run [B, S] int (in decoder steps) ending at each step."""
        hidden = self.decoder_prenet(frames, training=training, noise_seed=noise_seed)
        scale = tf.cast(self.decoder_position_scale, hidden.dtype)
        encoding = sinusoidal_encoding(positions * self.reduction_factor, self.model_dim)
        hidden = hidden + scale * tf.cast(encoding, hidden.dtype)
        if self.silence_clock is not None:
            hidden = hidden + self.silence_clock(silent_steps * self.reduction_factor)
        return self.input_dropout(hidden, training=training)

    def call(self, inputs, training=False):
        """Teacher forcing on ``{"text": [B, N], "mel": [B, T, n_mels], "mel_length": [B]}``.

        An optional ``"decoder_mel"`` [B, T, n_mels] replaces ``mel`` as the frames the decoder
        reads (scheduled sampling); ``mel`` still sets the lengths.

        Returns a dict: ``mel_before`` and ``mel`` [B, T, n_mels] (before / after the postnet),
        ``stop_logits`` [B, T, 3], ``alignments`` a list of [B, ceil(T / r), N] per decoder layer,
        ``memory_mask`` [B, N] and ``step_mask`` [B, ceil(T / r)].
        """
        text, mel, mel_length = inputs["text"], inputs["mel"], inputs["mel_length"]
        r = self.reduction_factor
        num_frames = mel.shape[1] if mel.shape[1] is not None else tf.shape(mel)[1]
        memory, memory_mask = self.encode(text, training)
        mel = tf.cast(inputs.get("decoder_mel", mel), self.compute_dtype)
        go = tf.fill([tf.shape(mel)[0], 1, self.n_mels], tf.cast(self.go_value, mel.dtype))
        frames = subsample_frames(tf.concat([go, mel[:, :-1]], axis=1), r)
        num_steps = tf.shape(frames)[1]
        step_mask = tf.sequence_mask(reduced_length(mel_length, r), num_steps)
        silent_steps = silence_run_lengths(frames, self.silence_threshold)
        hidden = self._decoder_inputs(frames, tf.range(num_steps), silent_steps, training)
        alignments = []
        for block in self.decoder_blocks:
            hidden, alignment = block(
                hidden, memory, query_mask=step_mask, memory_mask=memory_mask, training=training
            )
            alignments.append(alignment)
        hidden = self.decoder_norm(hidden)
        mel_before = trim_frames(self.mel_projection(hidden), num_frames)
        stop_logits = trim_frames(self.stop_projection(hidden), num_frames)
        frame_mask = tf.sequence_mask(mel_length, tf.shape(mel)[1])
        mel_after = self.postnet(mel_before, valid=frame_mask, training=training)
        return {
            "mel_before": mel_before,
            "mel": mel_after,
            "stop_logits": stop_logits,
            "alignments": alignments,
            "memory_mask": memory_mask,
            "step_mask": step_mask,
        }

    def compute_losses(self, batch, training=False):
        inputs = {"text": batch["text"], "mel": batch["mel"], "mel_length": batch["mel_length"]}
        if training and self.scheduled_sampling_rate > 0:
            inputs["decoder_mel"] = self.scheduled_sampling_frames(inputs)
        outputs = self(inputs, training=training)
        mel, mel_length = batch["mel"], batch["mel_length"]
        frame_mask = tf.sequence_mask(mel_length, tf.shape(mel)[1])
        losses = {
            "mel_before_l1": masked_l1(outputs["mel_before"], mel, frame_mask),
            "mel_l1": masked_l1(outputs["mel"], mel, frame_mask),
            "stop": stop_loss(
                outputs["stop_logits"],
                stop_labels(mel_length, tf.shape(mel)[1]),
                self.stop_loss_scaling,
            ),
        }
        total = losses["mel_before_l1"] + losses["mel_l1"] + losses["stop"]
        losses["diagonal"] = tf.constant(0.0)
        if self.diagonal_forcing:
            alignments = outputs["alignments"]
            steps = tf.reduce_sum(tf.cast(outputs["step_mask"], tf.int32), axis=1)
            symbols = tf.reduce_sum(tf.cast(outputs["memory_mask"], tf.int32), axis=1)
            losses["diagonal"] = tf.add_n(
                [
                    guided_attention_loss(alignment, steps, symbols, self.diagonal_width)
                    for alignment in alignments
                ]
            ) / len(alignments)
            total = total + self.diagonal_loss_weight * losses["diagonal"]
        if training:
            self.trained_decoding_state.assign(
                tf.constant([self.reduction_factor, int(self.monotonic)], tf.int32)
            )
        losses["loss"] = total
        return losses

    def scheduled_sampling_frames(self, inputs):
        """Two-pass scheduled sampling (docs/references.md, Transformer TTS): the decoder input
        frames [B, T, n_mels] of a training step, each taken with probability
        ``scheduled_sampling_rate`` from a first, teacher-forced pass's prediction before the
        postnet (what incremental decoding feeds back) and otherwise from ``inputs["mel"]``.
        With ``scheduled_sampling_passes`` k > 1 the chosen frames come from pass k, which reads
        pass k - 1's frames (the same frames chosen every pass).

        No gradient flows through these passes. The choice is drawn from the stateless seed
        ``[replica, optimizer step]``: reproducible, and different at every step.

        Raises:
          ValueError: if the model has no optimizer (compile it with one; the trainer does).
        """
        optimizer = getattr(self, "optimizer", None)
        if optimizer is None:
            raise ValueError(
                "Scheduled sampling needs the model compiled with an optimizer, whose "
                "step count seeds the choice of frames: call model.compile(optimizer=...) (the "
                "ttszoo trainer does)."
            )
        replica = tf.distribute.get_replica_context()
        replica_id = 0 if replica is None else replica.replica_id_in_sync_group
        seed = tf.stack([tf.cast(replica_id, tf.int32), tf.cast(optimizer.iterations, tf.int32)])
        shape = tf.shape(inputs["mel"])[:2]
        chosen = tf.random.stateless_uniform(shape, seed) < self.scheduled_sampling_rate
        frames = None
        for _ in range(self.scheduled_sampling_passes):
            read = inputs if frames is None else {**inputs, "decoder_mel": frames}
            predicted = tf.stop_gradient(self(read, training=True)["mel_before"])
            mel = tf.cast(inputs["mel"], predicted.dtype)
            frames = tf.where(chosen[:, :, tf.newaxis], predicted, mel)
        return frames

    # Incremental decoding.

    def initial_decoder_state(self, memory, memory_mask, max_steps):
        """``{"blocks": per-layer caches for max_steps decoder steps (DecoderBlock.initial_state),
        "silent_steps": [B] int32 silence run of the inputs so far}``."""
        blocks = [
            block.initial_state(memory, memory_mask, max_steps) for block in self.decoder_blocks
        ]
        return {"blocks": blocks, "silent_steps": tf.zeros([tf.shape(memory)[0]], tf.int32)}

    def decoder_step(self, frame, index, state, memory_mask, hard=False, noise_seed=None):
        """Decoder step ``index`` from the previous frame ``frame`` [B, n_mels] (inference).

        ``noise_seed``: an int32 [2] seed for the prenet's inference dropout, or None (none).
        Returns ``(frames [B, r, n_mels], stop_logits [B, r, 3], alignments, new_state)``, with
        ``alignments`` a list of [B, N] per decoder layer. Without noise it equals step
        ``index`` of ``call`` run with the same decoder inputs (tested).
        """
        silent_steps = next_silence_run(state["silent_steps"], frame, self.silence_threshold)
        hidden = self._decoder_inputs(
            frame[:, tf.newaxis, :],
            index[tf.newaxis],
            silent_steps[:, tf.newaxis],
            False,
            noise_seed,
        )[:, 0]
        blocks, alignments = [], []
        for block, block_state in zip(self.decoder_blocks, state["blocks"], strict=True):
            hidden, alignment, block_state = block.step(
                hidden, block_state, index, memory_mask, hard=hard
            )
            blocks.append(block_state)
            alignments.append(alignment)
        hidden = self.decoder_norm(hidden)[:, tf.newaxis, :]
        new_state = {"blocks": blocks, "silent_steps": silent_steps}
        return self.mel_projection(hidden), self.stop_projection(hidden), alignments, new_state

    @property
    def prenet_noise_seed(self):
        """None (deterministic synthesis) or the int seed of the prenet's inference dropout."""
        return self._prenet_noise_seed

    @prenet_noise_seed.setter
    def prenet_noise_seed(self, value):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInputError(
                f"prenet_noise_seed must be None (no inference noise) or an int seed, got "
                f"{value!r}."
            )
        self._prenet_noise_seed = value

    @property
    def alignment_layer(self):
        """The decoder layer whose alignment ``synthesize`` returns: the last SMA layer, or the last."""
        return self._sma_layer_indices[-1] if self._sma_layer_indices else self.decoder_layers - 1

    def restored(self, directory):
        """Takes the r and SMA switch of the last training step (kept in a weight), so teacher
        forcing and synthesis of a restored model run the way it was last trained."""
        self._restore_trained_decoding_state()

    def _restore_trained_decoding_state(self):
        with tf.init_scope():
            r, monotonic = (int(v) for v in self.trained_decoding_state.numpy())
        if r > 0:
            self.reduction_factor = r
            self.monotonic = bool(monotonic)

    def synthesize(self, text_ids):
        """Text ids [B, N] (0 = pad, at the end) -> mel spectrogram, incrementally decoded.

        A model restored from a model directory decodes with the reduction factor and SMA switch
        of its last training step (``trained_decoding_state``).

        Returns a dict: ``mel`` [B, T, n_mels] (zero after each utterance's end), ``mel_length``
        [B] int32, ``stopped`` [B] bool (False: the maximum length cut the utterance, see the
        class docstring), ``stop_probability`` [B, T] float32 (the stop class' softmax
        probability of every frame, zero after the end), ``alignment`` [B, N, T] float32
        (``alignment_layer``'s, each decoder step repeated for its r frames),
        ``step_alignment`` [B, N, steps], and ``forced`` [B,
        steps] bool with ``forced_steps`` [B] int32: all False and 0, since nothing overrides
        this model's attention (the same outputs as DCTTS' forcibly incremental attention).

        Raises:
          ValueError: for ids that are not [batch, symbols] integers within the vocabulary, or a
            row with no symbol.
        """
        text_ids = self.check_text_ids(text_ids)
        self._restore_trained_decoding_state()
        key = (self.reduction_factor, self.monotonic, self.hard_inference, self.prenet_noise_seed)
        if key not in self._synthesis_functions:
            self._synthesis_functions[key] = tf.function(self._decode, reduce_retracing=True)
        return self._synthesis_functions[key](text_ids)

    def _decode(self, text_ids):
        r, hard, noise = self.reduction_factor, self.hard_inference, self.prenet_noise_seed
        memory, memory_mask = self.encode(text_ids, training=False)
        batch = tf.shape(text_ids)[0]
        symbols = tf.reduce_max(tf.reduce_sum(tf.cast(memory_mask, tf.int32), axis=1))
        max_frames = tf.minimum(self.max_synthesis_frames, self.max_frames_per_symbol * symbols)
        max_steps = reduced_length(max_frames, r)
        state = self.initial_decoder_state(memory, memory_mask, max_steps)
        frames_out = tf.TensorArray(self.compute_dtype, size=max_steps)
        alignments_out = tf.TensorArray(tf.float32, size=max_steps)
        stops_out = tf.TensorArray(tf.float32, size=max_steps)
        go = tf.fill([batch, self.n_mels], tf.cast(self.go_value, self.compute_dtype))
        lengths = tf.zeros([batch], tf.int32)
        finished = tf.zeros([batch], tf.bool)

        def keep_going(index, frame, state, lengths, finished, *outputs):
            return tf.logical_and(index < max_steps, tf.logical_not(tf.reduce_all(finished)))

        def body(index, frame, state, lengths, finished, frames_out, alignments_out, stops_out):
            noise_seed = None if noise is None else tf.stack([tf.constant(noise), index])
            frames, stop_logits, alignments, state = self.decoder_step(
                frame, index, state, memory_mask, hard=hard, noise_seed=noise_seed
            )
            is_stop = tf.argmax(stop_logits, axis=-1, output_type=tf.int32) == STOP
            stops_now = tf.logical_and(tf.reduce_any(is_stop, axis=1), tf.logical_not(finished))
            first_stop = tf.argmax(tf.cast(is_stop, tf.int32), axis=1, output_type=tf.int32)
            lengths = tf.where(
                finished,
                lengths,
                tf.where(stops_now, index * r + first_stop + 1, (index + 1) * r),
            )
            lengths = tf.minimum(lengths, max_frames)
            finished = tf.logical_or(finished, stops_now)
            frames_out = frames_out.write(index, frames)
            alignments_out = alignments_out.write(index, alignments[self.alignment_layer])
            stop_probability = tf.nn.softmax(tf.cast(stop_logits, tf.float32))[:, :, STOP]
            stops_out = stops_out.write(index, stop_probability)
            outputs = (frames_out, alignments_out, stops_out)
            return index + 1, frames[:, -1], state, lengths, finished, *outputs

        outputs = (frames_out, alignments_out, stops_out)
        steps, _, _, lengths, finished, *outputs = tf.while_loop(
            keep_going, body, (tf.constant(0), go, state, lengths, finished, *outputs)
        )
        return self._synthesis_outputs(steps, lengths, finished, *outputs)

    def _synthesis_outputs(self, steps, lengths, finished, frames_out, alignments_out, stops_out):
        """``synthesize``'s dict from the decoding loop's results: the per-step TensorArrays
        (frames [B, r, n_mels], alignment [B, N], stop probability [B, r]) become per-frame
        tensors, the postnet runs and everything after each utterance's end is zero."""
        r, batch = self.reduction_factor, tf.shape(lengths)[0]
        frames = frames_out.stack()[:steps]  # [steps, B, r, n_mels]
        mel = tf.reshape(tf.transpose(frames, [1, 0, 2, 3]), [batch, steps * r, self.n_mels])
        frame_mask = tf.sequence_mask(lengths, steps * r)
        mel = self.postnet(mel, valid=frame_mask) * tf.cast(frame_mask, mel.dtype)[:, :, None]
        step_alignment = tf.transpose(alignments_out.stack()[:steps], [1, 2, 0])
        alignment = (
            tf.repeat(step_alignment, r, axis=2) * tf.cast(frame_mask, tf.float32)[:, tf.newaxis, :]
        )
        stop_probability = tf.reshape(
            tf.transpose(stops_out.stack()[:steps], [1, 0, 2]), [batch, steps * r]
        )
        return {
            "mel": tf.cast(mel, tf.float32),
            "mel_length": lengths,
            "stopped": finished,
            "stop_probability": stop_probability * tf.cast(frame_mask, tf.float32),
            "alignment": alignment,
            "step_alignment": step_alignment,
            "forced": tf.zeros([batch, steps], tf.bool),
            "forced_steps": tf.zeros([batch], tf.int32),
        }

    def sample(self, batch):
        """Teacher-forced mel and alignment of the first utterance, for TensorBoard."""
        first = {key: batch[key][:1] for key in ("text", "mel", "mel_length")}
        outputs = self(first, training=False)
        return {
            "images": {
                "mel_teacher_forced": tf.transpose(tf.cast(outputs["mel"][0], tf.float32)),
                "alignment": tf.transpose(outputs["alignments"][self.alignment_layer][0]),
            }
        }

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in HYPERPARAMETERS})
        return config
