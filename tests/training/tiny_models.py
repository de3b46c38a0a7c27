"""A tiny acoustic model, a tiny vocoder and a synthetic dataset for the runtime tests.

They exercise the model contract (docs/model_directory.md) in milliseconds; they are not
part of the package. ``gin`` files under tests/training import this module by name, so the
folder must be on ``sys.path`` (pytest puts it there; subprocesses get ``PYTHONPATH``).
"""

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import gin
from ttszoo.audio import AudioConfig
from ttszoo.models import AcousticModel, VocoderModel, get_model, register_model

AUDIO = AudioConfig(
    sample_rate=8000, hop_length=32, win_length=64, n_fft=64, n_mels=8, griffin_lim_iters=4
)
VOCAB, N, T, BATCH = 40, 12, 16, 4


def write_features(records_dir):
    """Writes the features.json a preprocessed records folder carries."""
    Path(records_dir).mkdir(parents=True, exist_ok=True)
    features = {
        "audio_config": AUDIO.to_dict(),
        "tokenizer": {
            "symbols": "characters",
            "cleaners": "english",
            "unknown": "warn",
            "language": "en-us",
        },
    }
    (Path(records_dir) / "features.json").write_text(json.dumps(features))


@gin.configurable
def synthetic_dataset(records_dir, split="train", batch_size=BATCH, examples=16):
    """Dict batches with the data contract's keys, static shapes, a learnable text->mel relation."""
    rng = np.random.default_rng(0 if split == "train" else 1)
    text = rng.integers(2, VOCAB, size=(examples, N)).astype(np.int32)
    text_length = rng.integers(4, N + 1, size=examples).astype(np.int32)
    text = np.where(np.arange(N) < text_length[:, None], text, 0).astype(np.int32)
    mel_length = rng.integers(8, T + 1, size=examples).astype(np.int32)
    level = (text.sum(1) % 7 / 7.0).astype(np.float32)
    mel = np.clip(level[:, None, None] + 0.05 * np.arange(AUDIO.n_mels)[None, None, :], 0, 1)
    mel = np.broadcast_to(mel, (examples, T, AUDIO.n_mels)).astype(np.float32)
    audio = (
        np.sin(np.arange(T * AUDIO.hop_length)[None] * (0.05 + level[:, None])).astype(np.float32)
        * 0.5
    )
    data = {
        "text": text,
        "text_length": text_length,
        "mel": mel,
        "mel_length": mel_length,
        "linear": np.full((examples, T, AUDIO.n_linear), 0.5, np.float32),
        "audio": audio,
        "audio_length": mel_length * AUDIO.hop_length,
    }
    dataset = tf.data.Dataset.from_tensor_slices(data)
    if split == "train":
        dataset = dataset.shuffle(examples, seed=0)
    return dataset.batch(batch_size, drop_remainder=True)


@register_model(
    "tiny_acoustic",
    paper="none (a test model)",
    description="Pooled text embedding to a constant mel, with a reduction factor r.",
)
class TinyAcoustic(AcousticModel):
    """Text ids [B, N] -> mel [B, T, n_mels]; the loss uses every r-th frame (r: trace constant)."""

    def __init__(
        self,
        hidden=8,
        frames=T,
        n_mels=AUDIO.n_mels,
        vocab_size=VOCAB,
        reduction_factor=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.frames = frames
        self.n_mels = n_mels
        self.vocab_size = vocab_size
        self.reduction_factor = reduction_factor
        self.traced_reduction_factors = []
        self.embedding = keras.layers.Embedding(vocab_size, hidden, dtype=self.dtype_policy)
        self.projection = keras.layers.Dense(n_mels, dtype=self.dtype_policy)
        self.dropout = keras.layers.Dropout(0.1, dtype=self.dtype_policy)

    def trace_constants(self):
        return {"reduction_factor": self.reduction_factor}

    def call(self, text, training=False):
        mask = tf.cast(text > 0, self.compute_dtype)[..., None]
        pooled = tf.reduce_sum(self.embedding(text) * mask, 1) / tf.maximum(
            tf.reduce_sum(mask, 1), 1.0
        )
        logits = self.projection(self.dropout(pooled, training=training))
        return tf.sigmoid(tf.cast(logits, tf.float32))[:, None, :] * tf.ones([1, self.frames, 1])

    def compute_losses(self, batch, training=False):
        self.traced_reduction_factors.append(self.reduction_factor)
        r = self.reduction_factor
        mel = self(batch["text"], training=training)
        error = tf.reduce_mean(tf.abs(mel[:, ::r] - batch["mel"][:, ::r]))
        return {"loss": error, "mel_l1": error}

    def synthesize(self, text_ids):
        mel = self(text_ids)
        alignment = tf.ones([tf.shape(text_ids)[0], tf.shape(text_ids)[1], self.frames]) / tf.cast(
            tf.shape(text_ids)[1], tf.float32
        )
        return {"mel": mel, "alignment": alignment}

    def sample(self, batch):
        outputs = self.synthesize(batch["text"][:1])
        return {
            "images": {"mel": tf.transpose(outputs["mel"][0]), "alignment": outputs["alignment"][0]}
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden=self.hidden,
            frames=self.frames,
            n_mels=self.n_mels,
            vocab_size=self.vocab_size,
            reduction_factor=self.reduction_factor,
        )
        return config


@register_model(
    "tiny_vocoder",
    paper="none (a test model)",
    description="One dense layer from each mel frame to hop_length samples.",
)
class TinyVocoder(VocoderModel):
    """Mel [B, T, n_mels] -> audio [B, T * hop] through a per-frame dense layer."""

    def __init__(self, hop_length=AUDIO.hop_length, **kwargs):
        super().__init__(**kwargs)
        self.hop_length = hop_length
        self.projection = keras.layers.Dense(hop_length, dtype=self.dtype_policy)

    def call(self, mel):
        frames = tf.tanh(tf.cast(self.projection(mel), tf.float32))
        return tf.reshape(frames, [tf.shape(mel)[0], -1])

    def compute_losses(self, batch, training=False):
        error = tf.reduce_mean(tf.abs(self(batch["mel"]) - batch["audio"]))
        return {"loss": error}

    def vocode(self, mel):
        return {"audio": self(mel)}

    def sample(self, batch):
        return {
            "audio": {"vocoded": self(batch["mel"][:1])[0]},
            "linear": {"target": batch["linear"][0]},
        }

    def get_config(self):
        config = super().get_config()
        config.update(hop_length=self.hop_length)
        return config


TINY_GIN = str(Path(__file__).with_name("tiny.gin"))


def train_tiny(model_dir, records_dir, params=(), **overrides):
    """Trains the gin-configured tiny model (tiny.gin plus ``params``) into ``model_dir``."""
    from ttszoo.training import parse_gin, train
    from ttszoo.training.model_dir import ModelDirectory

    write_features(records_dir)
    parse_gin(
        [TINY_GIN], list(params), operative_config=ModelDirectory(model_dir).operative_config()
    )
    return train(model_dir=str(model_dir), records_dir=str(records_dir), **overrides)


def train_tiny_pair(root):
    """Trains the tiny acoustic model and the tiny vocoder under ``root``; returns both dirs."""
    records = Path(root) / "records"
    acoustic, vocoder = Path(root) / "acoustic", Path(root) / "vocoder"
    train_tiny(acoustic, records, params=["train.steps = 10", "train.sample_every = 0"])
    train_tiny(
        vocoder,
        records,
        params=['get_model.name = "tiny_vocoder"', "train.steps = 10", "train.sample_every = 10"],
    )
    return str(acoustic), str(vocoder)


def fixed_tiny_vocoder():
    """The tiny vocoder with fixed weights, so runs under different strategies start equal."""
    model = get_model("tiny_vocoder")
    model(tf.zeros([1, 2, AUDIO.n_mels]))
    model.set_weights(
        [
            np.linspace(-0.5, 0.5, int(np.prod(w.shape)), dtype=np.float32).reshape(w.shape)
            for w in model.weights
        ]
    )
    return model
