"""Transformer TTS inference time against output length: cached decoding vs re-running the prefix.

``TransformerTTS.synthesize`` decodes with a key/value cache per decoder layer, so a step's
cost does not grow with the prefix (apart from the attention read over the cache). The
baseline re-runs the whole (causal) decoder over a fixed-size frame buffer at every step, as
as-ideas/TransformerTTS' ``predict`` re-runs it over the growing prefix: quadratic in length.

The small demo model (gin/models/transformer_tts_small.gin sizes, random weights, r = 1) has its
stop class switched off, so every run produces exactly ``frames`` frames. Times are the best of
``--repeats`` warm runs (tracing excluded), one utterance of 40 symbols.

    python benchmarks/transformer_tts_inference.py --frames 100 200 400 800
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from ttszoo.layers import silence_run_lengths
from ttszoo.models.transformer_tts.model import TransformerTTS

SMALL = dict(
    vocab_size=40,
    n_mels=80,
    embedding_dim=64,
    model_dim=64,
    encoder_prenet_layers=2,
    encoder_layers=2,
    encoder_heads=2,
    decoder_layers=2,
    decoder_heads=2,
    key_dim=32,
    feed_forward_dim=128,
    decoder_prenet_dim=64,
    postnet_channels=64,
    postnet_layers=3,
    max_r=10,
    initial_reduction_factor=1,
    initial_monotonic=True,
    max_frames_per_symbol=100,
)


def build_model(frames):
    model = TransformerTTS(**SMALL, max_synthesis_frames=frames)
    rng = np.random.default_rng(0)
    batch = {
        "text": rng.integers(2, 40, size=(1, 40)).astype(np.int32),
        "mel": rng.random((1, 20, 80)).astype(np.float32),
        "mel_length": np.array([20], np.int32),
    }
    model.compute_losses(batch)
    bias = np.full((3 * model.max_r,), -30.0, np.float32)
    bias[1::3] = 30.0  # "continue" always wins: the length limit ends every run
    model.stop_projection.bias.assign(bias)
    return model, batch["text"]


def uncached_decoder(model, frames):
    """Greedy decoding that re-runs the parallel decoder over a [1, frames] buffer every step."""

    @tf.function
    def decode(text_ids):
        memory, memory_mask = model.encode(text_ids)
        go = tf.fill([1, 1, model.n_mels], model.go_value)

        def body(index, buffer):
            silent = silence_run_lengths(buffer, model.silence_threshold)
            hidden = model._decoder_inputs(buffer, tf.range(frames), silent, False)
            for block in model.decoder_blocks:
                hidden, _ = block(hidden, memory, memory_mask=memory_mask)
            output = model.mel_projection(model.decoder_norm(hidden))
            frame = output[:, index : index + 1]
            buffer = tf.concat([buffer[:, : index + 1], frame, buffer[:, index + 2 :]], axis=1)
            return index + 1, tf.ensure_shape(buffer[:, :frames], [1, frames, model.n_mels])

        buffer = tf.concat([go, tf.zeros([1, frames - 1, model.n_mels])], axis=1)
        _, buffer = tf.while_loop(lambda i, b: i < frames - 1, body, (tf.constant(0), buffer))
        return buffer

    return decode


def best_time(function, argument, repeats):
    function(argument)  # trace and warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function(argument)
        tf.nest.map_structure(lambda t: t.numpy(), result)
        times.append(time.perf_counter() - started)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[100, 200, 400, 800])
    parser.add_argument("--uncached_up_to", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for frames in args.frames:
        model, text = build_model(frames)
        cached = best_time(model.synthesize, text, args.repeats)
        length = int(model.synthesize(text)["mel_length"][0])
        assert length == frames, (length, frames)
        uncached = (
            best_time(uncached_decoder(model, frames), text, args.repeats)
            if frames <= args.uncached_up_to
            else None
        )
        rows.append((frames, cached, uncached))
    base_frames, base_cached, base_uncached = rows[0]
    print("| frames | cached s | ms/frame | x time vs first | uncached s | x time vs first |")
    print("|---:|---:|---:|---:|---:|---:|")
    for frames, cached, uncached in rows:
        uncached_cells = (
            f"{uncached:.2f} | {uncached / base_uncached:.1f}" if uncached is not None else "- | -"
        )
        print(
            f"| {frames} | {cached:.2f} | {1000 * cached / frames:.2f} | "
            f"{cached / base_cached:.1f} | {uncached_cells} |"
        )


if __name__ == "__main__":
    main()
