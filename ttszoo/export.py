"""Export of a trained text-to-speech pipeline as a TensorFlow SavedModel for serving.

    export_saved_model("runs/t2m", "exported/t2m", vocoder_dir="runs/ssrn")
    served = tf.saved_model.load("exported/t2m")
    waveform = served.synthesize(tf.constant([[12, 5, 9, 1]], tf.int32))["audio"]

The SavedModel has one endpoint, ``synthesize(text_ids int32 [1, N]) -> {"audio": float32
[1, S], "mel": ...}``, running the acoustic model, the vocoder or Griffin-Lim inside the graph.
Text is tokenised outside it: ``ttszoo_export.json`` beside the SavedModel holds the tokenizer
and audio settings (``Tokenizer.from_config(json["tokenizer"])``).
"""

import json

import keras
import tensorflow as tf

from ttszoo.synthesis import Synthesizer

EXPORT_INFO = "ttszoo_export.json"


def export_saved_model(acoustic_dir, export_dir, vocoder_dir=None, griffin_lim_iters=None):
    """Writes the SavedModel of ``acoustic_dir`` (+ ``vocoder_dir``) to ``export_dir``.

    Returns:
      The ``Synthesizer`` that was exported (its outputs equal the SavedModel's).
    """
    synthesizer = Synthesizer.from_model_dirs(acoustic_dir, vocoder_dir, griffin_lim_iters)
    archive = keras.export.ExportArchive()
    archive.track(synthesizer.acoustic.model)
    if synthesizer.vocoder is not None:
        archive.track(synthesizer.vocoder.model)

    def synthesize(text_ids):
        outputs = synthesizer.synthesize_ids(text_ids)
        return {name: value for name, value in outputs.items() if isinstance(value, tf.Tensor)}

    archive.add_endpoint(
        name="synthesize",
        fn=synthesize,
        input_signature=[tf.TensorSpec([1, None], tf.int32, name="text_ids")],
    )
    archive.write_out(str(export_dir), verbose=False)
    info = {
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
