"""Symbol sets: id 0 is padding, id 1 is end-of-sequence, then punctuation and the alphabet."""

PAD = "_"
EOS = "~"
PUNCTUATION = " !'(),-.:;?\""
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Every IPA symbol eSpeak NG writes for English, plus common ones of other languages.
IPA = "aæɐɑɒɔəɘɚɛɜɝɞɨɪʊʌeiouyøœɤɯʉʏᵻbdfghjklmnpqrstvwxzçðŋɡɣɫɬɭɮɲɹɾʁʃʒʔθχβɕʑɟʝʎɳɖʈɽʂʐˈˌːˑ̩̃ʲʷʰ"


def _build(*groups):
    symbols = [PAD, EOS]
    for group in groups:
        symbols.extend(char for char in group if char not in symbols)
    return tuple(symbols)


SYMBOL_SETS = {
    "characters": _build(PUNCTUATION, LETTERS),
    "phonemes": _build(PUNCTUATION, IPA),
}
"""Name -> tuple of symbols; the index of a symbol is its id."""
