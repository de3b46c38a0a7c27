"""A pause clock for autoregressive decoders: how long the decoder has been reading silence.

An autoregressive decoder inside a pause reads silence and writes silence. Teacher-forced, the
recording's first speech frame tells it that the pause is over; free-running, nothing does, and a
pause after a comma can go on until the length limit (docs/transformer_tts.md, point 16). The
clock gives every decoder step the length of the run of silent input frames that ends at it, so
the model can learn how long each pause lasts (point 17).

``silence_run_lengths`` (teacher forcing, all steps at once) and ``next_silence_run`` (incremental
decoding, one step) count the run in decoder steps; ``SilenceClock`` maps a run, in frames, to a
learned vector that is added to the decoder's input.
"""

import keras
import tensorflow as tf


def _is_silent(frames, threshold):
    """[..., C] frames -> [...] bool: the mean over the C channels is below ``threshold``."""
    return tf.reduce_mean(tf.cast(frames, tf.float32), axis=-1) < threshold


def _extend_run(run, silent):
    """One step of the count: the run grows by one on a silent frame and restarts at 0 on another."""
    return tf.where(silent, run + 1, tf.zeros_like(run))


def silence_run_lengths(frames, threshold):
    """Frames [B, S, C] -> [B, S] int32: at step s, how many consecutive frames up to and
    including s are silent (mean over C below ``threshold``); 0 where frame s is not."""
    silent = tf.transpose(_is_silent(frames, threshold))  # [S, B]: steps first for the scan
    runs = tf.scan(_extend_run, silent, initializer=tf.zeros(tf.shape(silent)[1:], tf.int32))
    return tf.transpose(runs)


def next_silence_run(run, frame, threshold):
    """The run [B] int32 after one more input frame [B, C] (``silence_run_lengths``' step)."""
    return _extend_run(tf.cast(run, tf.int32), _is_silent(frame, threshold))


@keras.saving.register_keras_serializable(package="ttszoo")
class SilenceClock(keras.layers.Layer):
    """Length of a silence run, in frames, -> a learned vector: int [...] -> [..., output_dim].

    The vector of a run of ``k`` frames is ``sum_{j <= min(k, max_frames)} increment[j]``: the
    increments start at zero (the clock adds nothing to an untrained model), and runs longer than
    any seen in training read the vector of the longest one seen, not an untrained one.

    Args:
      max_frames: runs of this many frames or more share one vector.
      output_dim: size of the vector (the decoder width).
    """

    def __init__(self, max_frames, output_dim, **kwargs):
        super().__init__(**kwargs)
        if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1:
            raise ValueError(f"max_frames must be a positive int, got {max_frames!r}.")
        self.max_frames = max_frames
        self.output_dim = output_dim

    def build(self, inputs_shape):
        self.increments = self.add_weight(
            name="increments", shape=(self.max_frames + 1, self.output_dim), initializer="zeros"
        )

    def call(self, run_frames):
        table = tf.cumsum(tf.cast(self.increments, self.compute_dtype), axis=0)
        index = tf.clip_by_value(tf.cast(run_frames, tf.int32), 0, self.max_frames)
        return tf.gather(table, index)

    def compute_output_shape(self, inputs_shape):
        return (*inputs_shape, self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "max_frames": self.max_frames,
            "output_dim": self.output_dim,
        }
