"""The reverse diffusion process of WaveGrad and DiffWave, compiled as one XLA loop.

References:
  Ho, Jain, Abbeel 2020, "Denoising Diffusion Probabilistic Models" (the posterior form).
  Chen et al. 2020, "WaveGrad: Estimating Gradients for Waveform Generation" (the compact form,
  conditioning on the continuous noise level sqrt(alpha_bar)).
  Kong et al. 2021, "DiffWave: A Versatile Diffusion Model for Audio Synthesis" (fast sampling
  with fractional training steps).
"""

import math

import numpy as np
import tensorflow as tf

from ttszoo.diffusion.schedules import NoiseSchedule, as_stateless_seed
from ttszoo.errors import InvalidInputError

FORMS = ("compact", "posterior")
CLIPS = (None, "output", "x0")
NOISE_INPUTS = ("noise_level", "fractional_step")
# Philox explicitly: "auto_select" may pick another generator under XLA, and the same seed must
# give the same audio with and without XLA (WaveGrad skips XLA for bf16 on CPUs).
RNG = "philox"


def stateless_normal(shape, seed):
    """Standard normal float32 noise of ``shape`` from a ``[2]`` seed, equal with and without XLA.

    ``tf.random.stateless_normal`` (and ``stateless_uniform`` on floats) convert Philox's bits
    differently under XLA; the raw 32-bit integers agree, so the normals are made from them
    with the Box-Muller transform (Box & Muller 1958): ``sqrt(-2 ln u1) cos(2 pi u2)``.
    """
    shape = tf.convert_to_tensor(shape, tf.int32)
    bits = tf.random.stateless_uniform(
        tf.concat([[2], shape], 0), seed=seed, minval=None, maxval=None, dtype=tf.uint32, alg=RNG
    )
    # The top 24 bits, centred in their bin: uniform on (0, 1), never 0 or 1.
    uniform = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) * (1.0 / 2**24)
    radius = tf.sqrt(-2.0 * tf.math.log(uniform[0]))
    return radius * tf.cos((2.0 * math.pi) * uniform[1])


# Rows of the coefficient table handed to the compiled loop, [len(_ROWS), N] float32.
_ROWS = (
    "network_input",  # sqrt(alpha_bar_n) or the fractional training step T_n
    "inv_sqrt_alpha",  # 1 / sqrt(alpha_n)
    "eps_coef",  # beta_n / sqrt(1 - alpha_bar_n)
    "sigma",  # sqrt(posterior variance beta~_n); 0 for the first step
    "x0_from_y",  # sqrt(1 / alpha_bar_n)
    "x0_from_eps",  # sqrt(1 / alpha_bar_n - 1)
    "mean_from_x0",  # beta_n sqrt(alpha_bar_{n-1}) / (1 - alpha_bar_n)
    "mean_from_y",  # (1 - alpha_bar_{n-1}) sqrt(alpha_n) / (1 - alpha_bar_n)
)


class DiffusionSampler:
    """Generates audio from a noise-predicting network by the reverse diffusion process.

    Starting from ``y_N ~ N(0, I)`` of shape ``[B, S]`` it runs, for ``n = N-1, ..., 0``
    (0-based, ``n`` is step ``n + 1``), with ``eps = denoise_fn(y, conditioning, input_n)``:

    * ``form="compact"`` (WaveGrad, DiffWave):
      ``y <- (y - beta_n / sqrt(1 - alpha_bar_n) eps) / sqrt(alpha_n)``, then ``y += sigma_n z``
      for ``n > 0``.
    * ``form="posterior"`` (Ho et al. 2020; ivanvovk/WaveGrad):
      ``x0 = sqrt(1 / alpha_bar_n) y - sqrt(1 / alpha_bar_n - 1) eps`` (optionally clipped),
      ``y <- c1 x0 + c2 y + sigma_n z`` with ``c1 = beta_n sqrt(alpha_bar_{n-1}) / (1 - alpha_bar_n)``,
      ``c2 = (1 - alpha_bar_{n-1}) sqrt(alpha_n) / (1 - alpha_bar_n)``.

    ``sigma_n^2 = (1 - alpha_bar_{n-1}) / (1 - alpha_bar_n) beta_n`` and ``z ~ N(0, I)``. The two
    forms are algebraically identical without clipping (``c1 / sqrt(alpha_bar_n) + c2 =
    1 / sqrt(alpha_n)``). Clipping: ``clip="output"`` clamps ``y`` to [-1, 1] after every step
    (lmnt-com/wavegrad, lmnt-com/diffwave); ``clip="x0"`` clamps the predicted clean signal
    (posterior form only; ivanvovk/WaveGrad's ``clip_denoised``); ``None`` clamps nothing.

    The network input ``input_n`` is ``sqrt(alpha_bar_n)`` for ``noise_input="noise_level"``
    (WaveGrad) or, for ``noise_input="fractional_step"`` (DiffWave), the fractional training
    step ``T_n`` aligned to ``training_schedule`` (see ``NoiseSchedule.fractional_steps``).

    All steps run in one ``tf.function(jit_compile=True)`` while-loop over the static number of
    steps; the schedule's coefficients are an input of that function, so any schedule with the
    same number of steps (a schedule search) reuses the compiled program. Noise is drawn by
    stateless RNG from ``seed``: the same seed gives the same audio, in either form.

    Args:
      denoise_fn: a Keras model or callable ``(noisy_audio [B, S] float32, conditioning,
        network_input [B] float32) -> predicted noise [B, S]`` (any float dtype; cast to float32).
      schedule: the inference ``NoiseSchedule``.
      form: ``"compact"`` or ``"posterior"``.
      clip: ``None``, ``"output"`` or ``"x0"``.
      noise_input: ``"noise_level"`` or ``"fractional_step"``.
      training_schedule: the training ``NoiseSchedule``; required for ``"fractional_step"``.
      jit_compile: compile the loop with XLA (turn off for a ``denoise_fn`` XLA cannot compile).
    """

    def __init__(
        self,
        denoise_fn,
        schedule,
        form="compact",
        clip="output",
        noise_input="noise_level",
        training_schedule=None,
        jit_compile=True,
    ):
        if not callable(denoise_fn):
            raise TypeError(f"denoise_fn must be callable (a Keras model), got {denoise_fn!r}.")
        if form not in FORMS:
            raise InvalidInputError(f"form must be one of {FORMS}, got {form!r}.")
        if clip not in CLIPS:
            raise InvalidInputError(f"clip must be one of {CLIPS}, got {clip!r}.")
        if clip == "x0" and form != "posterior":
            raise InvalidInputError(
                "clip='x0' clips the predicted clean signal, which only the posterior form "
                "computes; use form='posterior', or clip='output' with the compact form."
            )
        if noise_input not in NOISE_INPUTS:
            raise InvalidInputError(
                f"noise_input must be one of {NOISE_INPUTS}, got {noise_input!r}."
            )
        if noise_input == "fractional_step" and training_schedule is None:
            raise InvalidInputError(
                "noise_input='fractional_step' (DiffWave) needs the training_schedule the "
                "network was trained with, to align the inference steps to it."
            )
        self.denoise_fn = denoise_fn
        self.form = form
        self.clip = clip
        self.noise_input = noise_input
        self.training_schedule = training_schedule
        self.jit_compile = bool(jit_compile)
        self.schedule = schedule
        self.coefficients(schedule)  # validates the schedule against the training schedule
        self._loop = tf.function(self._reverse_process, jit_compile=self.jit_compile)

    def coefficients(self, schedule):
        """The ``[8, N]`` float32 table of per-step coefficients the compiled loop reads."""
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}.")
        if self.noise_input == "fractional_step":
            network_input = schedule.fractional_steps(self.training_schedule)
        else:
            network_input = schedule.noise_levels
        alpha_bar, alpha_bar_prev = schedule.alphas_cumprod, schedule.alphas_cumprod_prev
        rows = {
            "network_input": network_input,
            "inv_sqrt_alpha": 1.0 / np.sqrt(schedule.alphas),
            "eps_coef": schedule.betas / np.sqrt(1.0 - alpha_bar),
            "sigma": np.sqrt(schedule.posterior_variances),
            "x0_from_y": np.sqrt(1.0 / alpha_bar),
            "x0_from_eps": np.sqrt(1.0 / alpha_bar - 1.0),
            "mean_from_x0": schedule.betas * np.sqrt(alpha_bar_prev) / (1.0 - alpha_bar),
            "mean_from_y": (1.0 - alpha_bar_prev) * np.sqrt(schedule.alphas) / (1.0 - alpha_bar),
        }
        return tf.constant(np.stack([rows[name] for name in _ROWS]), tf.float32)

    def reverse_step(self, y, eps, z, coefficients):
        """One reverse step from ``y`` [B, S] given the predicted noise ``eps`` and noise ``z``.

        ``coefficients`` is one column ``[8]`` of ``self.coefficients(schedule)``; pass
        ``z = 0`` for the last step (``sigma`` is 0 there anyway).
        """
        c = dict(zip(_ROWS, tf.unstack(coefficients), strict=True))
        if self.form == "compact":
            y = c["inv_sqrt_alpha"] * (y - c["eps_coef"] * eps)
        else:
            x0 = c["x0_from_y"] * y - c["x0_from_eps"] * eps
            if self.clip == "x0":
                x0 = tf.clip_by_value(x0, -1.0, 1.0)
            y = c["mean_from_x0"] * x0 + c["mean_from_y"] * y
        y = y + c["sigma"] * z
        if self.clip == "output":
            y = tf.clip_by_value(y, -1.0, 1.0)
        return y

    def _reverse_process(self, initial_noise, conditioning, seed, coefficients):
        num_steps = coefficients.shape[1]
        step_seeds = tf.random.experimental.stateless_split(seed, num_steps, alg=RNG)
        y = initial_noise
        for i in tf.range(num_steps):
            n = num_steps - 1 - i
            column = coefficients[:, n]
            network_input = column[0] * tf.ones_like(y[:, 0])
            eps = tf.cast(self.denoise_fn(y, conditioning, network_input), tf.float32)
            z = stateless_normal(tf.shape(y), step_seeds[n])
            y = tf.ensure_shape(self.reverse_step(y, eps, z, column), initial_noise.shape)
        return y

    def sample(self, conditioning, length, batch_size=None, seed=0, schedule=None):
        """Generates ``[B, length]`` float32 audio.

        Args:
          conditioning: whatever ``denoise_fn`` takes (e.g. a mel spectrogram ``[B, F, M]``),
            or None; ``B`` is its first dimension unless ``batch_size`` is given.
          length: number of samples ``S`` (for a vocoder, frames times hop length).
          batch_size: ``B`` when ``conditioning`` is None or has no batch dimension.
          seed: Python int or ``[2]`` int tensor for the stateless RNG.
          schedule: another ``NoiseSchedule`` to use this time (same step count: no recompile).
        """
        if batch_size is None:
            if conditioning is None:
                raise InvalidInputError("Give batch_size when sampling without conditioning.")
            batch_size = tf.shape(tf.nest.flatten(conditioning)[0])[0]
        seed = as_stateless_seed(seed)
        noise_seed, loop_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2, alg=RNG))
        initial_noise = stateless_normal(tf.stack([batch_size, length]), noise_seed)
        return self.sample_from(initial_noise, conditioning, seed=loop_seed, schedule=schedule)

    def sample_from(self, initial_noise, conditioning, seed=0, schedule=None):
        """Runs the reverse process from a given ``y_N`` ``[B, S]``; returns ``[B, S]`` float32."""
        coefficients = self.coefficients(schedule if schedule is not None else self.schedule)
        initial_noise = tf.cast(initial_noise, tf.float32)
        if initial_noise.shape.rank != 2:
            raise InvalidInputError(
                f"initial_noise must be [batch, samples], got {initial_noise.shape}."
            )
        return self._loop(initial_noise, conditioning, as_stateless_seed(seed), coefficients)

    def get_config(self):
        """Everything but ``denoise_fn``, as JSON-compatible values."""
        return {
            "schedule": self.schedule.get_config(),
            "form": self.form,
            "clip": self.clip,
            "noise_input": self.noise_input,
            "training_schedule": (
                None if self.training_schedule is None else self.training_schedule.get_config()
            ),
            "jit_compile": self.jit_compile,
        }

    @classmethod
    def from_config(cls, config, denoise_fn):
        """Rebuilds a sampler from ``get_config()`` around ``denoise_fn``."""
        config = dict(config)
        config["schedule"] = NoiseSchedule.from_config(config["schedule"])
        if config.get("training_schedule") is not None:
            config["training_schedule"] = NoiseSchedule.from_config(config["training_schedule"])
        return cls(denoise_fn, **config)
