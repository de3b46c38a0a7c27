"""Noise schedules of WaveGrad and DiffWave: betas, cumulative alphas, noise levels.

A schedule is a sequence of ``N`` variances ``beta_n`` in (0, 1). With ``alpha_n = 1 - beta_n``
and ``alpha_bar_n = prod_{m <= n} alpha_m`` the noisy signal at step ``n`` (1-based) is
``sqrt(alpha_bar_n) x0 + sqrt(1 - alpha_bar_n) eps``; WaveGrad calls ``sqrt(alpha_bar_n)`` the
noise level and conditions its network on it (Chen et al. 2020, "WaveGrad: Estimating Gradients
for Waveform Generation"); DiffWave conditions on a (fractional) step index instead (Kong et al.
2021, "DiffWave: A Versatile Diffusion Model for Audio Synthesis").

Arrays on a schedule are float64 numpy, 0-based: index ``n`` holds step ``n + 1``.
"""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from ttszoo.errors import InvalidInputError


def fibonacci_betas(first, second, num_steps):
    """``[first, second, first + second, ...]``, ``num_steps`` values (ivanvovk/WaveGrad)."""
    betas = [float(first), float(second)]
    while len(betas) < num_steps:
        betas.append(betas[-1] + betas[-2])
    return np.asarray(betas[:num_steps])


def _repeat_25_step_schedule(num_steps):
    return np.repeat(fibonacci_betas(1e-6, 2e-6, 25), num_steps // 25)


# Named schedules. "wavegrad-*" are the inference schedules shipped with ivanvovk/WaveGrad's
# pretrained LJSpeech model (6, 7, 12 found by grid search and hand tuning, 25 a Fibonacci
# sequence); "diffwave-6" is lmnt-com/diffwave's fast inference schedule.
_NAMED_BETAS = {
    "wavegrad-train": lambda: np.linspace(1e-6, 1e-2, 1000),
    "wavegrad-6": lambda: np.array([1e-06, 1.89287e-05, 0.000119432, 0.00100475, 0.0110943, 0.06]),
    "wavegrad-7": lambda: np.array([1e-06, 5e-06, 1.8929e-05, 0.0001, 0.001, 0.0111, 0.06]),
    "wavegrad-12": lambda: np.array(
        [
            1e-06,
            6.93039e-06,
            5.3367e-06,
            3.69854e-05,
            0.000170882,
            0.00039476,
            0.00136792,
            0.00280895,
            0.00324452,
            0.0149905,
            0.00865752,
            0.06,
        ]
    ),  # fmt: skip
    "wavegrad-25": lambda: fibonacci_betas(1e-6, 2e-6, 25),
    "wavegrad-50": lambda: _repeat_25_step_schedule(50),
    "wavegrad-100": lambda: _repeat_25_step_schedule(100),
    "wavegrad-1000": lambda: _repeat_25_step_schedule(1000),
    "diffwave-train": lambda: np.linspace(1e-4, 0.05, 50),
    "diffwave-6": lambda: np.array([0.0001, 0.001, 0.01, 0.05, 0.2, 0.5]),
}
INFERENCE_ITERATIONS = (6, 7, 12, 25, 50, 100, 1000)


class NoiseSchedule:
    """A diffusion noise schedule: betas and everything derived from them.

    Args:
      betas: ``[N]`` variances, each strictly between 0 and 1.
      name: optional label (kept in the JSON form).

    Attributes (float64 numpy, ``[N]`` unless stated):
      betas, alphas (``1 - beta``), alphas_cumprod (``alpha_bar``), noise_levels
      (``sqrt(alpha_bar)``, WaveGrad's network input), noise_level_table (``[N + 1]``,
      ``[1, sqrt(alpha_bar_1), ...]``, the table WaveGrad training interpolates in),
      alphas_cumprod_prev (``alpha_bar_{n-1}`` with ``alpha_bar_0 = 1``) and posterior_variances
      (``beta~_n = (1 - alpha_bar_{n-1}) / (1 - alpha_bar_n) beta_n``, 0 for the first step).

    Named schedules (``NoiseSchedule.named(name)``, ``NoiseSchedule.inference(iterations)``):
      * ``"wavegrad-train"``: ``linspace(1e-6, 1e-2, 1000)``, WaveGrad's training schedule.
      * ``"wavegrad-6"``, ``"wavegrad-7"``, ``"wavegrad-12"``: ivanvovk/WaveGrad's pretrained
        inference schedules (grid search, then tuned by hand).
      * ``"wavegrad-25"``: ``fibonacci_betas(1e-6, 2e-6, 25)`` (ivanvovk/WaveGrad).
      * ``"wavegrad-50"``, ``"wavegrad-100"``, ``"wavegrad-1000"``: ivanvovk/WaveGrad built these
        "by repeating elements from the 25-iteration scheme" without saying how; the stored
        values are unconfirmed, so ttszoo derives them by repeating each beta of the 25-step
        schedule ``n / 25`` times (``np.repeat``). Repeating raises the total noise: the final
        noise level of "wavegrad-1000" is about 1e-3, below the training range (0.0814), so
        prefer a searched schedule or ``NoiseSchedule.linear()`` for 1000 steps.
      * ``"diffwave-train"`` (``linspace(1e-4, 0.05, 50)``) and ``"diffwave-6"``
        (``[1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5]``), lmnt-com/diffwave's schedules.
      The WaveGrad paper's own 6-step betas are not hard-coded: they are unconfirmed. Find a
      schedule for a trained model with ``ttszoo.diffusion.search_schedule``.
    """

    def __init__(self, betas, name=None):
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size == 0:
            raise InvalidInputError(
                f"betas must be a non-empty 1-D sequence, got shape {betas.shape}."
            )
        bad = np.flatnonzero(~(np.isfinite(betas) & (betas > 0.0) & (betas < 1.0)))
        if bad.size:
            raise InvalidInputError(
                f"Every beta must lie strictly between 0 and 1; beta[{bad[0]}] = {betas[bad[0]]!r}"
                f" ({bad.size} bad value(s)). Betas are noise variances per step."
            )
        self.betas = betas
        self.name = name
        self.alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.alphas_cumprod_prev = np.concatenate([[1.0], self.alphas_cumprod[:-1]])
        self.noise_levels = np.sqrt(self.alphas_cumprod)
        self.noise_level_table = np.concatenate([[1.0], self.noise_levels])
        self.posterior_variances = (
            (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod) * betas
        )

    @property
    def num_steps(self):
        """Number of diffusion steps ``N``."""
        return int(self.betas.size)

    def __len__(self):
        return self.num_steps

    def __repr__(self):
        label = f"{self.name!r}, " if self.name else ""
        return (
            f"NoiseSchedule({label}{self.num_steps} steps, betas {self.betas[0]:.3g}.."
            f"{self.betas[-1]:.3g}, final noise level {self.noise_levels[-1]:.4g})"
        )

    # Constructors.
    @classmethod
    def linear(cls, start=1e-6, end=1e-2, num_steps=1000, name=None):
        """``linspace(start, end, num_steps)`` betas; the defaults are WaveGrad's training schedule."""
        return cls(np.linspace(start, end, num_steps), name=name or f"linear-{num_steps}")

    @classmethod
    def fibonacci(cls, first=1e-6, second=2e-6, num_steps=25, name=None):
        """Fibonacci betas ``[first, second, first + second, ...]``: ivanvovk/WaveGrad's way to
        build schedules of 25 steps or more (``inference(25)`` is the default one); the betas
        must stay below 1, so ``num_steps`` is at most 29 from the defaults."""
        return cls(fibonacci_betas(first, second, num_steps), name=name or f"fibonacci-{num_steps}")

    @classmethod
    def named(cls, name):
        """One of the named schedules (see the class docstring); ``available()`` lists them."""
        if name not in _NAMED_BETAS:
            raise InvalidInputError(
                f"Unknown noise schedule {name!r}; choose one of {cls.available()}."
            )
        return cls(_NAMED_BETAS[name](), name=name)

    @classmethod
    def inference(cls, num_iterations):
        """WaveGrad's inference schedule for 6, 7, 12, 25, 50, 100 or 1000 iterations."""
        if num_iterations not in INFERENCE_ITERATIONS:
            raise InvalidInputError(
                f"No named WaveGrad schedule for {num_iterations} iterations; named ones have "
                f"{list(INFERENCE_ITERATIONS)}. Use search_schedule to find one for a model."
            )
        return cls.named(f"wavegrad-{num_iterations}")

    @staticmethod
    def available():
        """Names accepted by ``NoiseSchedule.named``."""
        return sorted(_NAMED_BETAS)

    # Serialisation (JSON, never pickle).
    def get_config(self):
        return {"name": self.name, "betas": [float(b) for b in self.betas]}

    @classmethod
    def from_config(cls, config):
        return cls(config["betas"], name=config.get("name"))

    def save(self, path):
        """Writes the schedule as JSON (``{"name": ..., "betas": [...]}``) to ``path``."""
        Path(path).write_text(json.dumps(self.get_config()) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path):
        """Reads a schedule written by ``save``; raises ``ValueError`` for a malformed file."""
        try:
            config = json.loads(Path(path).read_text(encoding="utf-8"))
            betas = config["betas"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise InvalidInputError(
                f"{path} is not a noise schedule JSON file ({{'betas': [...]}}): {error}"
            ) from error
        return cls(betas, name=config.get("name"))

    # DiffWave: fractional training steps for an inference schedule.
    def fractional_steps(self, training_schedule):
        """DiffWave's step alignment: a fractional training step ``T_s`` per inference step.

        For inference step ``s`` find the training step ``t`` (0-based) with
        ``alpha_bar^train_{t+1} <= alpha_bar_s <= alpha_bar^train_t`` and interpolate linearly in
        ``sqrt(alpha_bar)``: ``T_s = t + (sqrt(abar^train_t) - sqrt(abar_s)) /
        (sqrt(abar^train_t) - sqrt(abar^train_{t+1}))`` (Kong et al. 2021; lmnt-com/diffwave).

        Returns ``[N]`` float64 steps. Raises ``ValueError`` when a cumulative alpha of this
        schedule lies outside the training schedule's range, where no step matches.
        """
        train = training_schedule.alphas_cumprod
        steps = []
        for s, alpha_bar in enumerate(self.alphas_cumprod):
            inside = np.flatnonzero((train[1:] <= alpha_bar) & (alpha_bar <= train[:-1]))
            if inside.size == 0:
                raise InvalidInputError(
                    f"Inference step {s} has alpha_bar = {alpha_bar:.6g}, outside the training "
                    f"schedule's range [{train[-1]:.6g}, {train[0]:.6g}], so no fractional "
                    "training step matches it. Use smaller betas early on (alpha_bar too high) "
                    "or a training schedule that reaches more noise (alpha_bar too low)."
                )
            t = int(inside[0])
            upper, lower = np.sqrt(train[t]), np.sqrt(train[t + 1])
            steps.append(t + (upper - np.sqrt(alpha_bar)) / (upper - lower))
        return np.asarray(steps)

    # WaveGrad training: continuous noise levels.
    def sample_noise_level(self, batch_size, seed, steps=None):
        """WaveGrad's continuous noise level: ``[B]`` float32 values for training.

        Draws a step ``s`` uniformly from 1..N (or takes ``steps``, ``[B]`` ints in 1..N) and
        a level uniformly between ``noise_level_table[s]`` and ``noise_level_table[s - 1]``
        (Chen et al. 2020, section 3.2). Stateless and XLA-compatible: ``seed`` is a ``[2]``
        int tensor or a Python int.
        """
        seed = as_stateless_seed(seed)
        step_seed, level_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        if steps is None:
            steps = tf.random.stateless_uniform(
                [batch_size], step_seed, minval=1, maxval=self.num_steps + 1, dtype=tf.int32
            )
        table = tf.constant(self.noise_level_table, tf.float32)
        upper = tf.gather(table, steps - 1)
        lower = tf.gather(table, steps)
        fraction = tf.random.stateless_uniform([batch_size], level_seed, dtype=tf.float32)
        return upper + fraction * (lower - upper)


def diffuse(audio, noise_level, noise):
    """The forward process: ``noise_level * audio + sqrt(1 - noise_level^2) * noise``.

    Args:
      audio: ``[B, S]`` clean audio in [-1, 1].
      noise_level: ``[B]`` values of ``sqrt(alpha_bar)`` in (0, 1].
      noise: ``[B, S]`` standard normal noise (the training target of the network).
    """
    level = tf.cast(noise_level, audio.dtype)[:, tf.newaxis]
    return level * audio + tf.sqrt(1.0 - tf.square(level)) * noise


def as_stateless_seed(seed):
    """A ``[2]`` int32 seed for ``tf.random.stateless_*`` from a Python int or a seed tensor."""
    if isinstance(seed, int | np.integer):
        return tf.constant([int(seed) % 2**31, 0], tf.int32)
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank != 1 or seed.shape[0] != 2:
        raise InvalidInputError(
            f"seed must be a Python int or a [2] int tensor, got shape {seed.shape}."
        )
    return tf.cast(seed, tf.int32)
