"""Keras 3 layers of ttszoo: pure layers, no gin, no files, no globals."""

from ttszoo.layers.attention import (
    StepwiseMonotonicMultiHeadAttention,
    focus_rate,
    focused_head_weights,
)
from ttszoo.layers.monotonic import (
    raffel_monotonic_attention,
    stepwise_monotonic_alignment,
    stepwise_monotonic_hard_alignment,
)
from ttszoo.layers.reduction import (
    ReductionFactorSchedule,
    ReductionProjection,
    reduced_length,
    subsample_frames,
    trim_frames,
)
from ttszoo.layers.schedules import MonotonicAttentionSwitch, ReductionFactorCallback

__all__ = [
    "MonotonicAttentionSwitch",
    "ReductionFactorCallback",
    "ReductionFactorSchedule",
    "ReductionProjection",
    "StepwiseMonotonicMultiHeadAttention",
    "focus_rate",
    "focused_head_weights",
    "raffel_monotonic_attention",
    "reduced_length",
    "stepwise_monotonic_alignment",
    "stepwise_monotonic_hard_alignment",
    "subsample_frames",
    "trim_frames",
]
