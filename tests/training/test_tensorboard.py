"""TensorBoard writers: the event files hold what TensorBoard's dashboards read."""

import io

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from ttszoo.training.tensorboard import write_audio, write_image, write_scalar


def _events(directory):
    values = {}
    for path in tf.io.gfile.glob(f"{directory}/events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                values[value.tag] = (event.step, value)
    return values


def test_scalar_image_and_audio_land_in_their_dashboards(tmp_path):
    pixels = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)  # height 3, width 5
    png = tf.io.encode_png(pixels).numpy()
    waveform = np.sin(np.linspace(0, 20, 800)).astype(np.float32) * 0.5
    waveform[0] = 3.0  # clipped to 1.0
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        write_scalar("loss", 1.5, step=7)
        write_image("samples/alignment", png, step=8)
        write_audio("samples/waveform", waveform, 16000, step=9)
    events = _events(tmp_path)

    step, scalar = events["loss"]
    assert step == 7 and scalar.metadata.plugin_data.plugin_name == "scalars"
    assert tf.make_ndarray(scalar.tensor) == pytest.approx(1.5)

    step, image = events["samples/alignment"]
    assert step == 8 and image.metadata.plugin_data.plugin_name == "images"
    width, height, encoded = tf.make_ndarray(image.tensor)
    assert (int(width), int(height)) == (5, 3)
    np.testing.assert_array_equal(tf.io.decode_png(encoded).numpy(), pixels)

    step, audio = events["samples/waveform"]
    assert step == 9 and audio.metadata.plugin_data.plugin_name == "audio"
    decoded, sample_rate = soundfile.read(io.BytesIO(tf.make_ndarray(audio.tensor)[0, 0]))
    expected = np.clip(waveform, -1.0, 1.0)
    assert sample_rate == 16000
    np.testing.assert_allclose(decoded, expected, atol=1.0 / 32767 + 1e-6)


def test_image_refuses_bytes_that_are_not_png(tmp_path):
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        with pytest.raises(ValueError, match="PNG bytes"):
            write_image("x", b"GIF89a....", step=0)


def test_trainer_says_how_to_open_tensorboard(tmp_path, caplog):
    from tiny_models import synthetic_dataset

    from ttszoo.models import get_model
    from ttszoo.training import Trainer, make_optimizer

    model_dir = str(tmp_path / "run")
    trainer = Trainer(
        model_dir,
        tf.distribute.get_strategy(),
        lambda: get_model("tiny_acoustic"),
        make_optimizer,
        synthetic_dataset(None),
        log_every=0,
        checkpoint_every=0,
        sample_every=0,
        verbose=False,
    )
    with caplog.at_level("INFO"):
        trainer.fit(1)
    assert f"Open TensorBoard with: tensorboard --logdir {model_dir}" in caplog.text
