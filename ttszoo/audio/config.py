"""Audio and feature settings shared by preprocessing, the models and synthesis."""

import dataclasses
import math

import gin


@gin.register(module="ttszoo.audio")
@dataclasses.dataclass(frozen=True)
class AudioConfig:
    """Sample rate, STFT geometry, mel bank and dB normalisation of every feature in ttszoo.

    The STFT sizes may be given in milliseconds (``frame_shift_ms``, ``frame_length_ms``) so one
    setting works at 16 kHz and at 22.05 kHz; explicit ``hop_length`` / ``win_length`` /
    ``n_fft`` in samples override them. After construction the three sizes are always ints:
    ``hop_length = round(sample_rate * frame_shift_ms / 1000)``,
    ``win_length = round(sample_rate * frame_length_ms / 1000)`` and ``n_fft`` is the smallest
    power of two >= ``win_length``. The defaults follow Kyubyong's dc_tts
    (docs/references.md, Audio features):
    12.5 ms shift, 50 ms window, 80 mel bins, pre-emphasis 0.97, ``ref_db`` 20, ``max_db`` 100.

    Normalisation (dc_tts): ``db = 20 log10(max(1e-5, amplitude))`` and
    ``normalised = clip((db - ref_db + max_db) / max_db, 1e-8, 1)``.
    """

    sample_rate: int = 22050
    frame_shift_ms: float | None = 12.5
    frame_length_ms: float | None = 50.0
    hop_length: int | None = None
    win_length: int | None = None
    n_fft: int | None = None
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None
    preemphasis: float = 0.97
    ref_db: float = 20.0
    max_db: float = 100.0
    trim_top_db: float | None = 60.0
    griffin_lim_power: float = 1.5
    griffin_lim_iters: int = 50

    def __post_init__(self):
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}.")
        hop = self.hop_length or _samples(self.sample_rate, self.frame_shift_ms, "frame_shift_ms")
        win = self.win_length or _samples(self.sample_rate, self.frame_length_ms, "frame_length_ms")
        n_fft = self.n_fft or 2 ** math.ceil(math.log2(win))
        fmax = self.sample_rate / 2 if self.fmax is None else self.fmax
        if not 0 < hop <= win <= n_fft:
            raise ValueError(
                f"Need 0 < hop_length <= win_length <= n_fft, got hop_length={hop}, "
                f"win_length={win}, n_fft={n_fft}. Check frame_shift_ms / frame_length_ms."
            )
        if not 0 <= self.fmin < fmax <= self.sample_rate / 2:
            raise ValueError(
                f"Need 0 <= fmin < fmax <= sample_rate / 2 = {self.sample_rate / 2}, got "
                f"fmin={self.fmin}, fmax={fmax}."
            )
        if self.n_mels <= 0:
            raise ValueError(f"n_mels must be positive, got {self.n_mels}.")
        if not 0 <= self.preemphasis < 1:
            raise ValueError(
                f"preemphasis must be in [0, 1) (0 disables it), got {self.preemphasis}."
            )
        if self.max_db <= 0:
            raise ValueError(f"max_db must be positive, got {self.max_db}.")
        object.__setattr__(self, "hop_length", int(hop))
        object.__setattr__(self, "win_length", int(win))
        object.__setattr__(self, "n_fft", int(n_fft))
        object.__setattr__(self, "fmax", float(fmax))

    @property
    def n_linear(self):
        """Number of linear-frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def to_dict(self):
        """Returns the settings as a JSON-ready dict (sizes resolved to samples)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Builds a config from ``to_dict()`` output; unknown keys raise a ValueError."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"Unknown AudioConfig settings {unknown}; known ones are {sorted(known)}."
            )
        return cls(**values)


def _samples(sample_rate, milliseconds, name):
    if milliseconds is None or milliseconds <= 0:
        raise ValueError(f"{name} must be a positive number of milliseconds, got {milliseconds}.")
    return int(round(sample_rate * milliseconds / 1000.0))
