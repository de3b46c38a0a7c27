"""Connecting to a TPU, or saying exactly why there is none and falling back.

Colab's TPU runtimes and Cloud TPU VMs expose the chips as ``/dev/accel*`` (v2, v3, v4) or
``/dev/vfio/<n>`` (v5e and newer) device files, and only the ``tensorflow-tpu`` build of
TensorFlow has the kernels that drive them (docs/install.md).
"""

import glob
import importlib.metadata

import tensorflow as tf
from absl import logging

from ttszoo.training.strategy import make_strategy

TPU_DEVICE_PATTERNS = ("/dev/accel*", "/dev/vfio/[0-9]*")


def tpu_device_files(patterns=TPU_DEVICE_PATTERNS):
    """Returns the TPU device files present on this machine (empty on CPU / GPU machines)."""
    return sorted(path for pattern in patterns for path in glob.glob(pattern))


def tpu_build_version():
    """Returns the installed ``tensorflow-tpu`` version, or ``None`` when it is not installed."""
    try:
        return importlib.metadata.version("tensorflow-tpu")
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_tpu_reason(device_files, tpu_build, error=None):
    """Explains, in one message a user can act on, why no TPU can be used.

    Args:
      device_files: the TPU device files found (``tpu_device_files()``).
      tpu_build: the installed ``tensorflow-tpu`` version or ``None``.
      error: the exception raised while connecting, if connecting was tried.
    """
    if not device_files:
        return (
            "this runtime has no TPU (no /dev/accel* or /dev/vfio/<n> device files). On Colab "
            "choose Runtime > Change runtime type > TPU, then run the notebook from the top."
        )
    if tpu_build is None:
        return (
            f"a TPU is attached ({', '.join(device_files)}) but TensorFlow {tf.__version__} is "
            "the plain build, which cannot drive it. Install ttszoo[tpu], reinstall tensorflow-tpu "
            "last with `pip install --no-deps --force-reinstall tensorflow-tpu` "
            "(docs/install.md), and restart the runtime."
        )
    message = f"connecting to the TPU failed: {type(error).__name__}: {error}"
    if "ConfigureDistributedTPU" in str(error):
        message += (
            f" (tensorflow-tpu {tpu_build} is installed, but the plain tensorflow wheel's files "
            "replaced its kernels: run `pip install --no-deps --force-reinstall tensorflow-tpu` "
            "and restart the runtime)"
        )
    return message


def connect_tpu_or_fall_back(tpu="local"):
    """Returns ``(strategy, reason)``: a ``TPUStrategy`` and ``None``, or the strategy for the
    CPU / GPUs here and the reason no TPU is used (``missing_tpu_reason``).

    With ``tpu="local"`` a connection is tried only when TPU device files exist, so a CPU or GPU
    runtime falls back at once; a TPU name or ``grpc://`` address is always tried.
    """
    device_files = tpu_device_files() if tpu == "local" else ["(remote) " + tpu]
    tpu_build = tpu_build_version()
    if device_files and (tpu_build is not None or tpu != "local"):
        try:
            return make_strategy(tpu=tpu), None
        except (tf.errors.OpError, ValueError, RuntimeError) as error:
            reason = missing_tpu_reason(device_files, tpu_build, error)
    else:
        reason = missing_tpu_reason(device_files, tpu_build)
    logging.warning("No TPU: %s", reason)
    return make_strategy(), reason
