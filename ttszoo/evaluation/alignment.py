"""Attention-alignment failure metrics for autoregressive TTS: skips, repeats, no stop.

An attention-based acoustic model fails on an utterance when its encoder-decoder alignment
skips symbols (words go missing), returns to symbols it has passed or sticks to one (words are
repeated or babbled), or never predicts the stop token (the output runs to the length limit).
He et al. 2019 (arXiv 1906.00672) count such failures by listening; here they are read off the
alignment, in numpy, from its most-attended-symbol path:

* ``skip``: the path jumps forward by more than ``max_jump`` symbols between two decoder
  outputs, or the utterance stopped before the path reached the last ``end_tolerance + 1``
  symbols, or (given ``expected_outputs``) it stopped after fewer than ``expected_outputs /
  length_tolerance`` outputs: too short to have said the whole text;
* ``repeat``: the path falls back by more than ``max_backtrack`` symbols below the furthest
  symbol it has reached, or stays on one symbol for more than ``max_stay`` outputs, or (given
  ``expected_outputs``) it stopped after more than ``expected_outputs * length_tolerance``
  outputs;
* ``no_stop``: the decoder hit its maximum length.

Two soft measures describe how clean the alignment is: the focus rate (mean over outputs of
the largest weight; Ren et al. 2019, FastSpeech) and the diagonality (share of the weight within
``band`` of the diagonal ``n / N = t / T``).
"""

import numpy as np


def alignment_path(alignment):
    """The most-attended symbol of each output: ``[N, T]`` alignment -> ``[T]`` int."""
    return np.asarray(alignment).argmax(axis=0)


def diagonality(alignment, band=0.2):
    """Share of the alignment's weight within ``band`` of the diagonal (1 = perfectly diagonal).

    Args:
      alignment: [N, T] weights of the valid symbols and outputs.
      band: half width, in fractions of the text and output lengths.
    """
    alignment = np.asarray(alignment, np.float64)
    symbols, outputs = alignment.shape
    distance = np.abs(
        (np.arange(symbols)[:, None] + 0.5) / symbols
        - (np.arange(outputs)[None, :] + 0.5) / outputs
    )
    total = alignment.sum()
    return float(alignment[distance <= band].sum() / total) if total > 0 else 0.0


def alignment_report(
    alignment,
    stopped=True,
    max_jump=3,
    max_backtrack=2,
    max_stay=None,
    end_tolerance=2,
    band=0.2,
    expected_outputs=None,
    length_tolerance=2.0,
):
    """Failure flags and soft measures of one utterance's alignment.

    Args:
      alignment: [N, T] alignment over the N valid symbols and T produced outputs (decoder
        steps or frames; ``max_stay`` counts in the same unit).
      stopped: whether the decoder predicted the stop token (False: it hit the length limit).
      max_jump: largest allowed forward jump of the path between two outputs, in symbols.
      max_backtrack: how far below its furthest symbol the path may fall back.
      max_stay: most outputs allowed on one symbol; ``max(8, 4 * T / N)`` if None (four times
        the mean).
      end_tolerance: a stopped utterance must reach symbol ``N - 1 - end_tolerance``.
      band: diagonality band.
      expected_outputs: the typical number of outputs for this text (for example its symbols
        times the corpus' mean frames per symbol, divided by ``r``); None skips the length test.
      length_tolerance: factor ``> 1`` the output length of a stopped utterance may differ
        from ``expected_outputs`` by.

    Returns:
      dict with bools ``skip``, ``repeat``, ``no_stop``, ``failed`` (any of them) and floats
      ``focus_rate``, ``diagonality``.

    Raises:
      ValueError: for an alignment that is not a non-empty 2-D array.
    """
    alignment = np.asarray(alignment, np.float64)
    if alignment.ndim != 2 or 0 in alignment.shape:
        raise ValueError(
            f"alignment must be a non-empty [symbols, outputs] array, got shape {alignment.shape}."
        )
    symbols, outputs = alignment.shape
    path = alignment_path(alignment)
    steps = np.diff(path)
    furthest = np.maximum.accumulate(path)
    if length_tolerance <= 1.0:
        raise ValueError(f"length_tolerance must be > 1, got {length_tolerance}.")
    too_short = too_long = False
    if expected_outputs is not None and stopped:
        too_short = outputs < expected_outputs / length_tolerance
        too_long = outputs > expected_outputs * length_tolerance
    if max_stay is None:
        max_stay = max(8, 4 * outputs / symbols)
    run_lengths = np.diff(np.flatnonzero(np.diff(np.r_[-1, path, -1]) != 0))
    skip = (
        bool((steps > max_jump).any())
        or (bool(stopped) and furthest[-1] < symbols - 1 - end_tolerance)
        or too_short
    )
    repeat = (
        bool((path < furthest - max_backtrack).any())
        or bool(run_lengths.max() > max_stay)
        or too_long
    )
    no_stop = not bool(stopped)
    return {
        "skip": skip,
        "repeat": repeat,
        "no_stop": no_stop,
        "failed": skip or repeat or no_stop,
        "focus_rate": float(alignment.max(axis=0).mean()),
        "diagonality": diagonality(alignment, band),
    }


def failure_rates(reports):
    """Share of utterances with each failure, and the mean soft measures, over ``reports``."""
    if not reports:
        raise ValueError("failure_rates needs at least one report.")
    keys = ("skip", "repeat", "no_stop", "failed", "focus_rate", "diagonality")
    return {key: float(np.mean([report[key] for report in reports])) for key in keys}
