"""The character tokenizer as TensorFlow ops, for the text endpoint of an exported SavedModel.

``GraphCharacterTokenizer(tokenizer)(texts)`` maps a batch of strings ``[B]`` to padded ids
``[B, N]`` (0-padded, each row ending with EOS) inside the graph: lower case, runs of
whitespace as one space, then a lookup table from characters to ids. Of the English cleaners
it does only that much; a text that would need the rest -- digits, symbols such as ``&``,
accented letters, or an abbreviation such as ``Dr.`` -- fails an in-graph check whose message
says so, rather than being spoken differently from ``Tokenizer.encode``. Such texts, and
phoneme models (eSpeak NG runs outside TensorFlow), go through the Python pre-step
``Tokenizer.from_config(ttszoo_export.json["tokenizer"]).encode(text)`` and the ids endpoint.
See docs/model_directory.md ("Serving").
"""

import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.text.cleaners import abbreviation_regex
from ttszoo.text.symbols import PUNCTUATION, SYMBOL_SETS


class GraphCharacterTokenizer(tf.Module):
    """Strings ``[B]`` -> int32 ids ``[B, N]`` equal to ``Tokenizer.encode`` for the texts it
    accepts (see the module docstring).

    Args:
      tokenizer: a ``ttszoo.text.Tokenizer`` with ``symbols="characters"``.

    Raises:
      InvalidInputError: for a phoneme tokenizer.
    """

    def __init__(self, tokenizer):
        super().__init__(name="graph_character_tokenizer")
        if tokenizer.symbols != "characters":
            raise InvalidInputError(
                f"A {tokenizer.symbols!r} tokenizer needs eSpeak NG, which cannot run inside a "
                "SavedModel; tokenize with Tokenizer.from_config(ttszoo_export.json"
                "['tokenizer']).encode(text) and call the synthesize(text_ids) endpoint."
            )
        alphabet = SYMBOL_SETS["characters"]
        symbols = list(alphabet[2:])  # 0 padding and 1 EOS are not characters
        ids = list(range(2, len(alphabet)))
        self.eos_id = tokenizer.eos_id
        self.english = tokenizer.cleaners == "english"
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(symbols), tf.constant(ids, tf.int32)),
            default_value=-1,
        )
        self.punctuation = tf.constant(
            [alphabet.index(char) for char in PUNCTUATION if char in alphabet], tf.int32
        )

    def __call__(self, texts):
        """``texts`` tf.string ``[B]`` -> int32 ``[B, N]`` (checks run in the graph)."""
        texts = tf.strings.strip(
            tf.strings.regex_replace(tf.strings.lower(texts, encoding="utf-8"), r"\s+", " ")
        )
        checks = []
        if self.english:
            checks.append(
                tf.debugging.Assert(
                    tf.logical_not(
                        tf.reduce_any(tf.strings.regex_full_match(texts, abbreviation_regex()))
                    ),
                    [
                        "A text holds an abbreviation (such as Dr.) that the English cleaners "
                        "expand; write it out, or tokenize in Python (Tokenizer.encode) and call "
                        "synthesize(text_ids). Texts:",
                        texts,
                    ],
                    summarize=3,
                )
            )
        ids = self.table.lookup(tf.strings.unicode_split(texts, "UTF-8"))
        checks.append(
            tf.debugging.Assert(
                tf.reduce_all(ids.flat_values >= 0),
                [
                    "A text holds characters outside the characters symbol set (digits, "
                    "symbols, accents); spell them out, or tokenize in Python (Tokenizer.encode) "
                    "and call synthesize(text_ids). Texts:",
                    texts,
                ],
                summarize=3,
            )
        )
        spoken = tf.reduce_sum(
            tf.cast(tf.reduce_all(ids[..., None] != self.punctuation, axis=-1), tf.int32),
            axis=1,
        )
        checks.append(
            tf.debugging.assert_positive(
                spoken, message="A text is empty after cleaning; give at least one word."
            )
        )
        with tf.control_dependencies(checks):
            eos = tf.fill([tf.shape(texts)[0], 1], tf.constant(self.eos_id, tf.int32))
            return tf.concat([ids, eos], axis=1).to_tensor(0)
