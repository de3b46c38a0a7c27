"""tf.data pipeline: bucketed static shapes, drop_remainder, masks that match lengths."""

import numpy as np
import pytest

from ttszoo.data import bucket_boundaries, make_dataset


def test_bucket_boundaries_cover_every_length_and_respect_the_multiple():
    lengths = [10, 11, 25, 40, 41, 97]
    boundaries = bucket_boundaries(lengths, num_buckets=3, frame_multiple=4)
    assert all(b % 4 == 0 for b in boundaries) and boundaries[-1] >= 97
    assert boundaries == sorted(boundaries)


def test_batches_have_static_bucket_shapes_and_masks(demo_records_dir):
    dataset = make_dataset(
        demo_records_dir,
        batch_size=2,
        features=("text", "mel", "linear", "audio"),
        num_buckets=2,
        frame_multiple=4,
    )
    shapes = set()
    for batch in dataset.take(8):
        frames = batch["mel"].shape[1]
        assert frames % 4 == 0 and batch["text"].shape[1] % 8 == 0
        assert batch["linear"].shape[1] == frames and batch["audio"].shape[1] == frames * 276
        np.testing.assert_array_equal(batch["mel_mask"].numpy().sum(1), batch["mel_length"].numpy())
        np.testing.assert_array_equal(
            batch["text_mask"].numpy().sum(1), batch["text_length"].numpy()
        )
        for row, length in enumerate(batch["mel_length"].numpy()):
            assert np.all(batch["mel"][row, length:].numpy() == 0)
            assert batch["text"][row, batch["text_length"][row] - 1] == 1  # EOS last
        shapes.add(tuple(batch["mel"].shape))
    assert 1 <= len(shapes) <= 2 and all(shape[0] == 2 for shape in shapes)


def test_single_bucket_gives_a_fully_static_element_spec(demo_records_dir):
    dataset = make_dataset(
        demo_records_dir, batch_size=2, num_buckets=1, split="validation", shuffle=False
    )
    assert dataset.element_spec["mel"].shape.is_fully_defined()
    assert dataset.element_spec["text"].shape.is_fully_defined()
    assert sum(1 for _ in dataset) >= 1


def test_bad_requests_raise(demo_records_dir, tmp_path):
    with pytest.raises(ValueError, match="Unknown split"):
        make_dataset(demo_records_dir, split="test")
    with pytest.raises(ValueError, match="fewer than batch_size"):
        make_dataset(demo_records_dir, batch_size=1000)
    with pytest.raises(FileNotFoundError, match="ttszoo preprocess"):
        make_dataset(tmp_path)
