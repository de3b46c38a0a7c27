"""Training runtime: strategy, trainer, checkpoints, fingerprints, gin experiments, loading.

See docs/model_directory.md for the model contract and docs/gin.md for the
experiment files.
"""

from ttszoo.training.callbacks import (
    DiagonalAttentionForcing,
    MonotonicAttentionSwitch,
    ReductionFactorCallback,
    ScheduledSampling,
    StepSwitch,
    SwitchAtStep,
)
from ttszoo.training.checkpoints import CheckpointStore, complete_steps, latest_checkpoint
from ttszoo.training.fingerprint import FingerprintMismatchError, compute_fingerprint
from ttszoo.training.gin_config import packaged_gin_files, parse_gin, resolve_gin_file
from ttszoo.training.loading import TrainedModel, load_trained_model
from ttszoo.training.model_dir import ModelDirectory, ModelDirectoryError
from ttszoo.training.optimization import NoamSchedule, ScaledFromStep, make_optimizer
from ttszoo.training.strategy import make_strategy
from ttszoo.training.trainer import Trainer, trace_key, train

__all__ = [
    "CheckpointStore",
    "DiagonalAttentionForcing",
    "FingerprintMismatchError",
    "ModelDirectory",
    "ModelDirectoryError",
    "MonotonicAttentionSwitch",
    "NoamSchedule",
    "ReductionFactorCallback",
    "ScaledFromStep",
    "ScheduledSampling",
    "StepSwitch",
    "SwitchAtStep",
    "TrainedModel",
    "Trainer",
    "complete_steps",
    "compute_fingerprint",
    "latest_checkpoint",
    "load_trained_model",
    "make_optimizer",
    "make_strategy",
    "packaged_gin_files",
    "parse_gin",
    "resolve_gin_file",
    "trace_key",
    "train",
]
