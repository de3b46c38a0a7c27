"""The built-in models' names, families and papers, readable without importing TensorFlow.

``ttszoo models`` and ``ttszoo --help`` answer from this table in well under a second; the
registry (``ttszoo.models.registry``) stays the source of truth, and
tests/test_model_catalog.py checks that this table equals the registry's built-in entries.
Add a row here when a model family registers a new model.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """What ``ttszoo models`` prints of one registered model."""

    name: str
    family: str
    paper: str
    description: str


_DCTTS_PAPER = (
    "Tachibana, Uenoyama, Aihara 2017, Efficiently Trainable Text-to-Speech System Based on "
    "Deep Convolutional Networks with Guided Attention, arXiv 1710.08969"
)

BUILT_IN_MODELS = (
    CatalogEntry(
        "dctts_ssrn",
        "vocoder",
        _DCTTS_PAPER,
        "DCTTS SSRN: mel every r frames to the full-rate linear spectrogram (Griffin-Lim makes "
        "the audio).",
    ),
    CatalogEntry(
        "dctts_text2mel",
        "acoustic",
        _DCTTS_PAPER,
        "DCTTS Text2Mel: text to mel every r frames with a causal convolutional decoder and "
        "guided attention.",
    ),
    CatalogEntry(
        "transformer_tts",
        "acoustic",
        "Li et al. 2019, arXiv 1809.08895; He et al. 2019, arXiv 1906.00672 (SMA)",
        "Transformer text-to-mel with stepwise monotonic encoder-decoder attention, a "
        "reduction-factor schedule and a 3-class stop token.",
    ),
    CatalogEntry(
        "wavegrad",
        "vocoder",
        "Chen et al. 2020, WaveGrad: Estimating Gradients for Waveform Generation, arXiv "
        "2009.00713",
        "Diffusion vocoder: mel -> waveform in 6 to 1000 denoising iterations.",
    ),
    CatalogEntry(
        "wavenet",
        "vocoder",
        "van den Oord et al. 2016, arXiv 1609.03499; Paine et al. 2016, arXiv 1611.09482",
        "Autoregressive WaveNet vocoder on mel spectrograms with a mixture-of-logistics or "
        "Gaussian output and queue-based fast generation.",
    ),
)
