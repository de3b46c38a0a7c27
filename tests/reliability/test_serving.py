"""The exported SavedModel checks its ids in the graph, takes a batch and speaks text
(issue 14, 'Serving')."""

import json

import numpy as np
import pytest
import tensorflow as tf

from ttszoo.export import EXPORT_INFO, checked_text_ids, export_saved_model
from ttszoo.text import Tokenizer
from ttszoo.text.graph_tokenizer import GraphCharacterTokenizer


@pytest.fixture(scope="module")
def served(trained_pair, tmp_path_factory):
    out = tmp_path_factory.mktemp("served")
    synthesizer = export_saved_model(trained_pair[0], out, vocoder_dir=trained_pair[1])
    return tf.saved_model.load(str(out)), synthesizer, out


def test_a_batch_of_ids_and_of_texts(served):
    model, synthesizer, out = served
    texts = ["Hello there.", "A longer sentence, with a comma."]
    ids = [synthesizer.tokenizer.encode(text) for text in texts]
    padded = np.zeros([2, max(map(len, ids))], np.int32)
    for row, values in enumerate(ids):
        padded[row, : len(values)] = values
    by_ids = model.synthesize(tf.constant(padded))["audio"].numpy()
    by_text = model.synthesize_text(tf.constant(texts))["audio"].numpy()
    assert by_ids.shape[0] == 2 and np.array_equal(by_ids, by_text)
    single = synthesizer.synthesize(texts[1])[0]
    np.testing.assert_allclose(by_text[1], single, atol=1e-5)
    info = json.loads((out / EXPORT_INFO).read_text())
    assert info["endpoints"] == ["synthesize", "synthesize_text"]


@pytest.mark.parametrize(
    "ids, message",
    [
        ([[3, 40, 1]], "text_ids must be < 40, the model vocabulary"),
        ([[3, -2, 1]], "text_ids must be >= 0"),
        (np.zeros([1, 0], np.int32), "text_ids is empty"),
        ([[5, 6, 1], [0, 0, 0]], "A row of text_ids holds only padding"),
    ],
)
def test_bad_ids_fail_in_the_graph_with_a_message(served, ids, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        served[0].synthesize(tf.constant(ids, tf.int32))


@pytest.mark.parametrize(
    "text, message",
    [
        ("Dr. Smith is here.", "abbreviation"),
        ("I have 3 cats.", "outside the characters symbol set"),
        ("caf\u00e9", "outside the characters symbol set"),
        ("?!", "empty after cleaning"),
    ],
)
def test_texts_the_graph_cannot_clean_are_refused(served, text, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        served[0].synthesize_text(tf.constant([text]))


def test_graph_tokenizer_equals_the_python_tokenizer():
    tokenizer = Tokenizer()
    texts = ['  It\'s   a "quiet" (day); ok? ', "Yes-no: maybe.", "HELLO,\tworld!"]
    graph_ids = GraphCharacterTokenizer(tokenizer)(tf.constant(texts)).numpy()
    for row, text in zip(graph_ids, texts, strict=True):
        expected = tokenizer.encode(text)
        assert row[: len(expected)].tolist() == expected and not row[len(expected) :].any()


def test_max_text_length_is_checked_in_the_graph():
    check = tf.function(lambda ids: checked_text_ids(ids, 40, max_length=4))
    assert check(tf.ones([2, 4], tf.int32)).shape == (2, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="more than max_text_length=4"):
        check(tf.ones([1, 5], tf.int32))


def test_phonemes_have_no_graph_tokenizer():
    with pytest.raises(ValueError, match="needs eSpeak NG"):
        GraphCharacterTokenizer(Tokenizer(symbols="phonemes"))
