"""Keras 3 layers of ttszoo: pure layers, no gin, no files, no globals."""

from ttszoo.layers.attention import (
    StepwiseMonotonicMultiHeadAttention,
    focus_rate,
    focused_head_weights,
)
from ttszoo.layers.conv import (
    NORMS,
    DilatedConv1D,
    FrameGroupNormalization,
    HighwayConv1D,
    TransposedConv1D,
)
from ttszoo.layers.diffusion import DBlock, FiLM, NoiseLevelEncoding, UBlock
from ttszoo.layers.direct_dilated_conv import DirectDilatedConv1D
from ttszoo.layers.grouped_conv import GroupedConv1D
from ttszoo.layers.guided_attention import guided_attention_weights
from ttszoo.layers.monotonic import (
    raffel_monotonic_attention,
    stepwise_monotonic_alignment,
    stepwise_monotonic_hard_alignment,
)
from ttszoo.layers.multi_head_attention import MultiHeadAttention
from ttszoo.layers.position import position_prior, sinusoidal_encoding
from ttszoo.layers.reduction import (
    ReductionFactorSchedule,
    ReductionProjection,
    reduced_length,
    subsample_frames,
    trim_frames,
)
from ttszoo.layers.silence_clock import SilenceClock, next_silence_run, silence_run_lengths
from ttszoo.layers.wavenet import (
    GatedResidualBlock,
    MelUpsampler,
    frame_interpolation_weights,
)

__all__ = [
    "DBlock",
    "FiLM",
    "NORMS",
    "DilatedConv1D",
    "DirectDilatedConv1D",
    "FrameGroupNormalization",
    "GatedResidualBlock",
    "GroupedConv1D",
    "HighwayConv1D",
    "TransposedConv1D",
    "MelUpsampler",
    "MultiHeadAttention",
    "NoiseLevelEncoding",
    "ReductionFactorSchedule",
    "ReductionProjection",
    "SilenceClock",
    "StepwiseMonotonicMultiHeadAttention",
    "UBlock",
    "focus_rate",
    "focused_head_weights",
    "frame_interpolation_weights",
    "guided_attention_weights",
    "next_silence_run",
    "position_prior",
    "raffel_monotonic_attention",
    "reduced_length",
    "silence_run_lengths",
    "sinusoidal_encoding",
    "stepwise_monotonic_alignment",
    "stepwise_monotonic_hard_alignment",
    "subsample_frames",
    "trim_frames",
]
