"""Export of a trained text-to-speech pipeline as a TensorFlow SavedModel for serving.

    export_saved_model("runs/t2m", "exported/t2m", vocoder_dir="runs/ssrn")
    served = tf.saved_model.load("exported/t2m")
    waveform = served.synthesize(tf.constant([[12, 5, 9, 1]], tf.int32))["audio"]
    waveform = served.synthesize_text(tf.constant(["Hello there."]))["audio"]

Endpoints, each running the acoustic model, the vocoder or Griffin-Lim inside the graph:

  * ``synthesize(text_ids int32 [B, N]) -> {"audio": float32 [B, S], "mel": ...}``: rows
    0-padded at the end. The graph checks the ids as the Python API does (not empty, inside
    the vocabulary, no row of padding only, at most the model's ``max_text_length``) and
    fails with an ``InvalidArgumentError`` whose message names the problem.
  * ``synthesize_text(text string [B])``, for character models only: the tokenizer runs in the
    graph (``ttszoo.text.graph_tokenizer``; texts with digits, symbols, accents or
    abbreviations are refused with a message). Phoneme models need eSpeak NG, outside the
    graph: tokenise with ``Tokenizer.from_config(json["tokenizer"]).encode(text)``, the
    pre-step documented in docs/model_directory.md.

``ttszoo_export.json`` beside the SavedModel holds the tokenizer and audio settings and the
endpoints written.
"""

import json

import keras
import tensorflow as tf

from ttszoo.synthesis import Synthesizer
from ttszoo.text.graph_tokenizer import GraphCharacterTokenizer

EXPORT_INFO = "ttszoo_export.json"


def checked_text_ids(text_ids, vocab_size, max_length=None):
    """``text_ids`` int32 ``[B, N]`` behind in-graph checks whose messages name the problem:
    an empty text, ids outside ``[0, vocab_size)``, a row of padding only, more than
    ``max_length`` symbols."""
    length = tf.shape(text_ids)[1]
    checks = [
        tf.debugging.assert_positive(
            length, message="text_ids is empty; give at least one symbol per utterance."
        ),
        tf.debugging.assert_non_negative(text_ids, message="text_ids must be >= 0 (0 pads)."),
        tf.debugging.assert_less(
            text_ids,
            vocab_size,
            message=f"text_ids must be < {vocab_size}, the model vocabulary; encode the text "
            "with the tokenizer of ttszoo_export.json.",
        ),
        tf.debugging.assert_positive(
            tf.reduce_sum(tf.cast(text_ids > 0, tf.int32), axis=1),
            message="A row of text_ids holds only padding; every utterance needs a symbol.",
        ),
    ]
    if max_length is not None:
        checks.append(
            tf.debugging.assert_less_equal(
                length,
                max_length,
                message=f"text_ids has more than max_text_length={max_length} symbols, the "
                "longest text this model synthesizes; split the text into sentences.",
            )
        )
    with tf.control_dependencies(checks):
        return tf.identity(text_ids)


def export_saved_model(acoustic_dir, export_dir, vocoder_dir=None, griffin_lim_iters=None):
    """Writes the SavedModel of ``acoustic_dir`` (+ ``vocoder_dir``) to ``export_dir``.

    Returns:
      The ``Synthesizer`` that was exported (its outputs equal the SavedModel's).
    """
    synthesizer = Synthesizer.from_model_dirs(acoustic_dir, vocoder_dir, griffin_lim_iters)
    tokenizer = synthesizer.tokenizer
    archive = keras.export.ExportArchive()
    archive.track(synthesizer.acoustic.model)
    if synthesizer.vocoder is not None:
        archive.track(synthesizer.vocoder.model)
    model = synthesizer.acoustic.model
    vocab_size = min(getattr(model, "vocab_size", None) or 2**31 - 1, tokenizer.vocab_size)
    max_length = getattr(model, "max_text_length", None)

    def synthesize(text_ids):
        text_ids = checked_text_ids(text_ids, vocab_size, max_length)
        outputs = synthesizer.synthesize_ids(text_ids)
        return {name: value for name, value in outputs.items() if isinstance(value, tf.Tensor)}

    archive.add_endpoint(
        name="synthesize",
        fn=synthesize,
        input_signature=[tf.TensorSpec([None, None], tf.int32, name="text_ids")],
    )
    endpoints = ["synthesize"]
    if tokenizer.symbols == "characters":
        graph_tokenizer = GraphCharacterTokenizer(tokenizer)
        archive.track(graph_tokenizer.table)
        archive.add_endpoint(
            name="synthesize_text",
            fn=lambda text: synthesize(graph_tokenizer(text)),
            input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        )
        endpoints.append("synthesize_text")
    archive.write_out(str(export_dir), verbose=False)
    info = {
        "endpoints": endpoints,
        "tokenizer": synthesizer.tokenizer.get_config(),
        "audio_config": synthesizer.audio_config.to_dict(),
        "acoustic": {"model": synthesizer.acoustic.info.name, "step": synthesizer.acoustic.step},
        "vocoder": None
        if synthesizer.vocoder is None
        else {"model": synthesizer.vocoder.info.name, "step": synthesizer.vocoder.step},
    }
    with tf.io.gfile.GFile(f"{export_dir}/{EXPORT_INFO}", "w") as stream:
        stream.write(json.dumps(info, indent=1, sort_keys=True))
    return synthesizer
