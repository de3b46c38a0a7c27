"""Does a teacher-forced acoustic model use its text, or only the frames it is fed?

An autoregressive decoder can lower its training loss by copying the previous frame: speech
changes slowly, so at r = 1 a copy is already close. A model that learned only that has a
teacher-forced loss near the copy's and is blind to its text, yet guided attention still draws
it a diagonal alignment. Two numbers tell it apart (docs/evaluation.md, "Text reliance"):

* ``previous_frame_l1``: the mel L1 of the decoder that copies its input frame into all ``r``
  frames of its step, the floor a text-blind model reaches;
* ``reversed_texts``: each text with its symbols in reverse order (same symbols, same length,
  same padding); a model that reads its text does worse on them, a text-blind one no worse.

And one for the text encoder: ``symbol_probe_accuracy``, how well a linear map recovers each
position's symbol from an encoder's features.
"""

import numpy as np

from ttszoo.errors import InvalidInputError


def reversed_texts(text, text_length):
    """Reverses each row's first ``text_length`` symbols; padding stays where it is.

    Args:
      text: int ``[B, N]`` symbol ids; text_length: int ``[B]`` symbols per row.

    Returns:
      int ``[B, N]``, same dtype.
    """
    text, text_length = np.asarray(text), np.asarray(text_length)
    if text.ndim != 2 or text_length.shape != text.shape[:1]:
        raise InvalidInputError(
            f"reversed_texts needs text [B, N] and text_length [B], got {text.shape} and "
            f"{text_length.shape}."
        )
    result = text.copy()
    for row, length in enumerate(text_length):
        result[row, :length] = text[row, :length][::-1]
    return result


def previous_frame_l1(mel, mel_length, r, go_value):
    """Mean absolute error of copying each decoder step's input frame into its ``r`` frames.

    Step ``k`` is fed frame ``k r - 1`` (the go frame, every channel ``go_value``, for step 0)
    and emits frames ``k r .. k r + r - 1``, as in teacher forcing.

    Args:
      mel: ``[B, T, n_mels]``; mel_length: int ``[B]``; r: reduction factor; go_value: float.

    Returns:
      float, the L1 over every real frame and channel of the batch.
    """
    mel, mel_length = np.asarray(mel, np.float64), np.asarray(mel_length)
    if mel.ndim != 3 or mel_length.shape != mel.shape[:1] or r < 1:
        raise InvalidInputError(
            f"previous_frame_l1 needs mel [B, T, n_mels], mel_length [B] and r >= 1, got "
            f"{mel.shape}, {mel_length.shape} and r={r}."
        )
    total, count = 0.0, 0
    for frames, length in zip(mel, mel_length, strict=True):
        frames = frames[:length]
        fed = np.concatenate([np.full((1, frames.shape[1]), go_value), frames[:-1]])[::r]
        copied = np.repeat(fed, r, axis=0)[:length]
        total += np.abs(copied - frames).sum()
        count += frames.size
    return total / count


def symbol_probe_accuracy(features, symbols, train_fraction=0.5, ridge=1e-2):
    """Accuracy of a linear probe that reads each position's symbol from its features.

    A ridge regression from the features (plus a constant) to one-hot symbols is fitted on the
    first ``train_fraction`` of the positions; the accuracy of its argmax is measured on the
    rest. Pass the positions of whole utterances in order, so that no utterance is in both parts.

    Args:
      features: ``[K, F]`` one row per text position; symbols: int ``[K]``.

    Returns:
      ``(accuracy, majority)``: the probe's accuracy on the held-out positions and that of
      always answering the most frequent held-out symbol.
    """
    features = np.asarray(features, np.float64)
    symbols = np.asarray(symbols)
    split = int(round(train_fraction * len(symbols)))
    if features.ndim != 2 or symbols.shape != features.shape[:1] or not 0 < split < len(symbols):
        raise InvalidInputError(
            f"symbol_probe_accuracy needs features [K, F] and symbols [K] with positions on both "
            f"sides of train_fraction={train_fraction}, got {features.shape} and {symbols.shape}."
        )
    inputs = np.concatenate([features, np.ones((len(features), 1))], axis=1)
    targets = np.eye(int(symbols.max()) + 1)[symbols]
    fit, held_out = inputs[:split], inputs[split:]
    weights = np.linalg.solve(fit.T @ fit + ridge * np.eye(fit.shape[1]), fit.T @ targets[:split])
    accuracy = float(np.mean(np.argmax(held_out @ weights, axis=1) == symbols[split:]))
    majority = float(np.bincount(symbols[split:]).max() / len(held_out))
    return accuracy, majority
