"""The shapes and dtypes of a training batch, saved so a model can be rebuilt without data.

Keras builds a model's weights on its first call. To restore a checkpoint for synthesis or
export, ``example_batch`` makes a one-utterance batch of the saved shapes (integers 1, floats
0) and the loader runs ``model.compute_losses`` on it once, creating exactly the weights the
training run had.
"""

import json

import tensorflow as tf

from ttszoo.errors import MissingFileError

BATCH_SPEC = "batch_spec.json"


def save_batch_spec(directory, batch):
    """Writes the per-key shape (batch axis excluded) and dtype of ``batch`` into ``directory``."""
    spec = {
        key: {
            "shape": list(tf.convert_to_tensor(value).shape[1:]),
            "dtype": tf.convert_to_tensor(value).dtype.name,
        }
        for key, value in batch.items()
    }
    with tf.io.gfile.GFile(directory.join(BATCH_SPEC), "w") as stream:
        stream.write(json.dumps(spec, indent=1, sort_keys=True))


def example_batch(directory):
    """Returns a dict batch of one utterance with the saved shapes, or raises if none was saved."""
    path = directory.join(BATCH_SPEC)
    if not tf.io.gfile.exists(path):
        raise MissingFileError(
            f"{path} is missing; the model directory was not written by `ttszoo train`."
        )
    with tf.io.gfile.GFile(path) as stream:
        spec = json.loads(stream.read())
    batch = {}
    for key, entry in spec.items():
        dtype = tf.as_dtype(entry["dtype"])
        fill = 1 if dtype.is_integer else 0
        batch[key] = tf.fill([1, *entry["shape"]], tf.constant(fill, dtype))
    return batch
