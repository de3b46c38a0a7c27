"""Windows of audio for vocoders: random training crops and chunked generation of long audio.

Vocoders train on short aligned crops of ``(mel, audio)`` (WaveGrad, HiFi-GAN, Vocos) and
generate long audio as overlapping chunks joined by crossfades, so the compiled shapes stay
small and fixed (docs/wavegrad.md, docs/vocoders_gan.md).
"""

import math

import keras
import numpy as np
import tensorflow as tf

from ttszoo.errors import InvalidInputError


def random_segments(mel, audio, lengths, segment_frames, hop_length, seed_generator):
    """Random aligned crops of ``segment_frames`` frames: ``(mel [B, F, M], audio [B, F * hop])``.

    The start frame of each utterance is uniform over the positions where the crop fits
    inside its length (0 for shorter utterances, which keep their zero padding). Batches
    shorter than the segment are zero-padded first, so the shapes are static.

    Args:
      mel: ``[B, T, M]`` mel spectrogram.
      audio: ``[B, T * hop_length]`` waveform aligned with ``mel``.
      lengths: ``[B]`` int32 valid frames of each utterance, or ``None`` (all ``T``).
      segment_frames: frames per crop.
      hop_length: audio samples per frame.
      seed_generator: a ``keras.random.SeedGenerator`` drawing the start frames.
    """
    frames, segment = mel.shape[1], segment_frames
    if frames < segment:
        mel = tf.pad(mel, [[0, 0], [0, segment - frames], [0, 0]])
        audio = tf.pad(audio, [[0, 0], [0, (segment - frames) * hop_length]])
        frames = segment
    if lengths is None:
        lengths = tf.fill([tf.shape(mel)[0]], frames)
    room = tf.cast(tf.maximum(tf.minimum(lengths, frames) - segment, 0) + 1, tf.float32)
    uniform = keras.random.uniform(tf.shape(room), seed=seed_generator)
    starts = tf.minimum(tf.cast(tf.floor(uniform * room), tf.int32), frames - segment)
    indices = starts[:, tf.newaxis] + tf.range(segment)[tf.newaxis, :]
    audio_frames = tf.reshape(audio, [-1, frames, hop_length])
    mel = tf.gather(mel, indices, batch_dims=1)
    audio = tf.reshape(tf.gather(audio_frames, indices, batch_dims=1), [-1, segment * hop_length])
    return mel, audio


def check_aligned(mel, audio, hop_length, model_name, factors_hint):
    """Raises a ValueError unless ``audio`` has ``hop_length`` samples per ``mel`` frame."""
    frames, samples = mel.shape[1], audio.shape[1]
    if frames is not None and samples is not None and samples != frames * hop_length:
        raise InvalidInputError(
            f"The audio has {samples} samples for {frames} mel frames, i.e. a hop of "
            f"{samples / frames:g}, but this {model_name} has a hop of {hop_length} "
            f"({factors_hint}). Preprocess with an AudioConfig whose hop_length is "
            f"{hop_length}, or change the model."
        )


def crossfade_weights(window_samples, context_samples):
    """``[window_samples]`` float32 overlap-add weights of one chunk with context on both sides.

    The outer ``context_samples // 2`` samples at each end weigh 0 (they sit where the
    network's zero padding reaches), the next ``fade = 2 * context_samples - 2 * margin``
    samples ramp linearly (``(i + 0.5) / fade``) and the middle weighs 1. Two neighbouring
    chunks share ``2 * context_samples`` samples, and their ramps cover the same ``fade``
    samples around the seam and sum to 1 there.
    """
    margin = context_samples // 2
    fade = 2 * context_samples - 2 * margin
    if window_samples < 2 * (margin + fade):
        raise InvalidInputError(
            f"A chunk of {window_samples} samples is too short for two crossfades of {fade} "
            f"samples plus margins of {margin}; use chunk_frames >= 2 * overlap_frames."
        )
    weights = np.ones(window_samples)
    ramp = (np.arange(fade) + 0.5) / fade
    weights[:margin] = 0.0
    weights[margin : margin + fade] = ramp
    weights[window_samples - margin - fade : window_samples - margin] = ramp[::-1]
    weights[window_samples - margin :] = 0.0
    return tf.constant(weights, tf.float32)


def generate_in_chunks(generate, mel, hop_length, chunk_frames, overlap_frames):
    """Generates long audio as a batch of overlapping chunks joined by crossfades.

    The mel ``[B, T, M]`` is cut into windows of ``chunk_frames + 2 * overlap_frames`` frames
    every ``chunk_frames`` frames (zero frames pad both ends); all windows of all utterances
    go through ``generate`` as one batch, and the audio of neighbouring windows is
    overlap-added with linear crossfades over their ``2 * overlap_frames`` shared frames,
    normalised by the sum of the weights (``crossfade_weights``: the outer half of each context
    is dropped, the ramps span the inner halves around the seam). The context keeps the
    network's zero padding away from every sample that is kept; for a deterministic network
    whose receptive field reaches at most ``overlap_frames / 2`` frames, the result equals
    generating the whole mel at once.

    Args:
      generate: ``generate(windows [N, W, M]) -> [N, W * hop_length]`` float32 audio.
      mel: ``[B, T, M]`` float mel spectrogram with a static ``T``.
      hop_length: audio samples per frame.
      chunk_frames, overlap_frames: chunk stride and context per side, in frames.

    Returns:
      ``[B, T * hop_length]`` float32 audio.
    """
    batch, frames, _ = mel.shape
    batch = tf.shape(mel)[0] if batch is None else batch
    if chunk_frames <= 0 or overlap_frames < 0:
        raise InvalidInputError(
            f"chunk_frames must be positive and overlap_frames non-negative, got "
            f"{chunk_frames} and {overlap_frames}."
        )
    num_chunks = math.ceil(frames / chunk_frames)
    window = chunk_frames + 2 * overlap_frames
    padded_frames = (num_chunks - 1) * chunk_frames + window
    mel = tf.pad(mel, [[0, 0], [overlap_frames, padded_frames - frames - overlap_frames], [0, 0]])
    windows = tf.signal.frame(mel, window, chunk_frames, axis=1)  # [B, n, window, M]
    windows = tf.reshape(windows, [-1, window, mel.shape[-1]])
    audio = tf.cast(generate(windows), tf.float32)
    audio = tf.reshape(audio, [batch, num_chunks, window * hop_length])
    weights = crossfade_weights(window * hop_length, overlap_frames * hop_length)
    step = chunk_frames * hop_length
    total = tf.signal.overlap_and_add(audio * weights, step)
    norm = tf.signal.overlap_and_add(
        tf.tile(weights[tf.newaxis, tf.newaxis], [1, num_chunks, 1]), step
    )
    start = overlap_frames * hop_length
    return tf.math.divide_no_nan(total, norm)[:, start : start + frames * hop_length]


def generate_in_windows(generate, mel, hop_length, chunk_frames, context_frames):
    """Generates long audio of a deterministic network window by window, equal to one pass.

    Chunk ``k`` (output frames ``[k * chunk_frames, (k + 1) * chunk_frames)``) is cut from a
    window of ``chunk_frames + 2 * context_frames`` mel frames around it, shifted inwards at
    the two ends of the utterance so that no window reaches past them; all windows go through
    ``generate`` as one batch and each chunk's samples are taken from its window. The
    network's own "same" padding therefore acts at the utterance ends exactly as in a single
    pass (zero mel frames would not: a trained network maps them to non-zero activations),
    and every other kept sample has ``context_frames`` real frames on both sides, so when the
    receptive field of the network reaches at most ``context_frames`` frames the result is the
    single pass's, seams included. Mels of at most one window are generated in one pass.

    Args:
      generate: ``generate(windows [N, W, M]) -> [N, W * hop_length]`` audio.
      mel: ``[B, T, M]`` mel spectrogram with a static ``T``.
      hop_length: audio samples per frame.
      chunk_frames: frames kept from each window.
      context_frames: frames of context on each side of a chunk.

    Returns:
      ``[B, T * hop_length]`` float32 audio.
    """
    if chunk_frames <= 0 or context_frames < 0:
        raise InvalidInputError(
            f"chunk_frames must be positive and context_frames non-negative, got "
            f"{chunk_frames} and {context_frames}."
        )
    frames = mel.shape[1]
    window = chunk_frames + 2 * context_frames
    if frames <= window:
        return tf.cast(generate(mel), tf.float32)
    chunk_starts = range(0, frames, chunk_frames)
    window_starts = [min(max(c - context_frames, 0), frames - window) for c in chunk_starts]
    windows = tf.stack([mel[:, s : s + window] for s in window_starts], axis=1)
    audio = generate(tf.reshape(windows, [-1, window, mel.shape[-1]]))
    audio = tf.reshape(tf.cast(audio, tf.float32), [-1, len(window_starts), window * hop_length])
    pieces = []
    for k, (c, s) in enumerate(zip(chunk_starts, window_starts, strict=True)):
        offset, length = c - s, min(chunk_frames, frames - c)
        pieces.append(audio[:, k, offset * hop_length : (offset + length) * hop_length])
    return tf.concat(pieces, axis=1)
