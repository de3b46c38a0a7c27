"""TensorBoard summaries written with TensorFlow alone.

``tf.summary.scalar`` / ``image`` / ``audio`` live in the ``tensorboard`` package, which
TensorFlow >= 2.16 no longer installs. These writers emit the same records through core
``tf.summary.write`` with the plugin metadata TensorBoard's scalar, image and audio
dashboards read (their ``*PluginData`` protos: empty for scalars and images, encoding WAV = 11
for audio), so the event files open in any TensorBoard without ttszoo depending on it.
"""

import io

import numpy as np
import soundfile
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

# AudioPluginData{encoding: WAV}: field 2 (varint) = 11.
_AUDIO_PLUGIN_CONTENT = b"\x10\x0b"


def _metadata(plugin, content=b"", description=""):
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin, content=content),
        summary_description=description,
    ).SerializeToString()


def write_scalar(name, value, step):
    """Writes one float scalar under ``name`` to the default summary writer."""
    return tf.summary.write(
        name, tf.constant(float(value), tf.float32), step=step, metadata=_metadata("scalars")
    )


def write_image(name, png, step):
    """Writes one PNG image (``png``: encoded bytes) under ``name``."""
    width, height = _png_size(png)
    tensor = tf.constant([str(width), str(height), png])
    return tf.summary.write(name, tensor, step=step, metadata=_metadata("images"))


def _png_size(png):
    """Returns ``(width, height)`` of PNG bytes."""
    # The IHDR chunk holds width then height as big-endian 32-bit integers at bytes 16..24.
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("write_image needs PNG bytes.")
    return int.from_bytes(png[20:24], "big"), int.from_bytes(png[16:20], "big")


def write_audio(name, waveform, sample_rate, step):
    """Writes one mono waveform ``[num_samples]`` in [-1, 1] as a 16-bit wav under ``name``."""
    buffer = io.BytesIO()
    clipped = np.clip(np.asarray(waveform, np.float32), -1.0, 1.0)
    soundfile.write(buffer, clipped, int(sample_rate), format="WAV", subtype="PCM_16")
    tensor = tf.constant([[buffer.getvalue(), b""]])
    return tf.summary.write(
        name, tensor, step=step, metadata=_metadata("audio", _AUDIO_PLUGIN_CONTENT)
    )
