"""Attention-alignment failure metrics for autoregressive TTS: skips, repeats, stalls, no stop.

An attention-based acoustic model fails on an utterance when its encoder-decoder alignment
skips symbols (words go missing), returns to symbols it has passed (words are repeated), sticks
to one symbol or creeps between neighbouring ones without moving on (babble, a drone), or never
predicts the stop token (the output runs to the length limit). He et al. 2019 (arXiv
1906.00672) count such failures by listening; here they are read off the alignment, in numpy,
from its most-attended-symbol path. Progress is the furthest symbol the path has reached, and
only the model's own attention makes progress: a column that an inference rule replaced
(``forced``, DCTTS' forcibly incremental attention) never does, so a rule that drags the
attention along cannot hide a stalled model.

* ``skip``: an unforced peak lies more than ``max_jump`` symbols beyond the furthest symbol
  reached before it, or the utterance stopped before its own attention reached the last
  ``end_tolerance + 1`` symbols, or (given ``expected_outputs``) it stopped after fewer than
  ``expected_outputs / length_tolerance`` outputs: too short to have said the whole text;
* ``repeat``: an unforced peak falls back more than ``max_backtrack`` symbols below the furthest
  symbol reached, or (given ``expected_outputs``) it stopped after more than ``expected_outputs
  * length_tolerance`` outputs;
* ``stall``: more than ``max_stay`` consecutive outputs (forced ones included) pass without
  progress before the last symbol is reached: staying on one symbol, alternating between two
  neighbours, or being moved only by the rule;
* ``no_stop``: the decoder hit its maximum length.

Two soft measures describe how clean the alignment is: the focus rate (mean over outputs of
the largest weight; Ren et al. 2019, FastSpeech) and the diagonality (share of the weight within
``band`` of the diagonal ``n / N = t / T``). ``attention_spread`` says how many symbols each
output reads: the standard deviation of the symbol index under its weights.
"""

import numpy as np

from ttszoo.errors import InvalidInputError


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


def focus_rate(alignment):
    """Mean over outputs of the largest weight of a ``[N, T]`` alignment (1 = one-hot)."""
    return float(np.asarray(alignment, np.float64).max(axis=0).mean())


def attention_spread(alignment):
    """Mean over outputs of the standard deviation, in symbols, of the symbol index under each
    output's weights: 0 for one-hot attention, about ``N / sqrt(12)`` for uniform attention over
    ``N`` symbols.

    Args:
      alignment: [N, T] weights of the valid symbols and outputs; each column sums to 1.
    """
    alignment = np.asarray(alignment, np.float64)
    symbols = np.arange(alignment.shape[0], dtype=np.float64)[:, None]
    mean = (alignment * symbols).sum(axis=0)
    variance = (alignment * (symbols - mean) ** 2).sum(axis=0)
    return float(np.sqrt(variance).mean())


def _checked_inputs(alignment, forced):
    """The alignment as float64 [N, T] and ``forced`` as bool [T]; ValueError for bad input."""
    alignment = np.asarray(alignment, np.float64)
    if alignment.ndim != 2 or 0 in alignment.shape:
        raise InvalidInputError(
            f"alignment must be a non-empty [symbols, outputs] array, got shape {alignment.shape}."
        )
    outputs = alignment.shape[1]
    forced = np.zeros(outputs, bool) if forced is None else np.asarray(forced, bool)
    if forced.shape != (outputs,):
        raise InvalidInputError(
            f"forced must hold one flag per output ({outputs}), got shape {forced.shape}."
        )
    return alignment, forced


def _furthest_reached(alignment, forced):
    """Each output's own most-attended symbol (-1 where forced) and the furthest symbol reached
    up to it ([T] each, -1 before the first unforced output)."""
    own = np.where(forced, -1, alignment_path(alignment))  # forced outputs reach nothing
    return own, np.maximum.accumulate(own)


def _path_moves(alignment, forced, max_jump, max_backtrack):
    """The furthest symbol reached by each output ([T], -1 before the first unforced output),
    and whether the path jumps forward more than ``max_jump`` or falls back more than
    ``max_backtrack`` symbols."""
    own, furthest = _furthest_reached(alignment, forced)
    before = np.r_[-1, furthest[:-1]]
    skip_jump = bool(((own - before > max_jump) & ~forced).any())
    fell_back = bool(((own < before - max_backtrack) & ~forced).any())
    return furthest, skip_jump, fell_back


def _wrong_length(outputs, stopped, expected_outputs, length_tolerance):
    """Whether a stopped utterance is too short or too long for ``expected_outputs``."""
    if length_tolerance <= 1.0:
        raise InvalidInputError(f"length_tolerance must be > 1, got {length_tolerance}.")
    if expected_outputs is None or not stopped:
        return False, False
    return (
        outputs < expected_outputs / length_tolerance,
        outputs > expected_outputs * length_tolerance,
    )


def alignment_report(
    alignment,
    stopped=True,
    forced=None,
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
      forced: optional bool [T], True where an inference rule replaced the output's attention;
        such outputs never count as progress.
      max_jump: largest allowed forward jump of the path beyond its furthest symbol, in symbols.
      max_backtrack: how far below its furthest symbol the path may fall back.
      max_stay: most consecutive outputs without progress; ``max(8, 4 * T / N)`` if None (four
        times the mean).
      end_tolerance: a stopped utterance must reach symbol ``N - 1 - end_tolerance``.
      band: diagonality band.
      expected_outputs: the typical number of outputs for this text (for example its symbols
        times the corpus' mean frames per symbol, divided by ``r``); None skips the length test.
      length_tolerance: factor ``> 1`` the output length of a stopped utterance may differ
        from ``expected_outputs`` by.

    Returns:
      dict with bools ``skip``, ``repeat``, ``stall``, ``no_stop``, ``failed`` (any of them),
      the int ``longest_stall`` (outputs) and floats ``focus_rate``, ``diagonality``.

    Raises:
      ValueError: for an alignment that is not a non-empty 2-D array, or a ``forced`` mask of
        another length.
    """
    alignment, forced = _checked_inputs(alignment, forced)
    symbols, outputs = alignment.shape
    furthest, skip_jump, fell_back = _path_moves(alignment, forced, max_jump, max_backtrack)
    longest_stall = _longest_stall(furthest, symbols - 1)
    max_stay = default_max_stay(symbols, outputs) if max_stay is None else max_stay
    too_short, too_long = _wrong_length(outputs, stopped, expected_outputs, length_tolerance)
    unfinished = bool(stopped) and bool(furthest[-1] < symbols - 1 - end_tolerance)
    skip = bool(skip_jump or unfinished or too_short)
    repeat = bool(fell_back or too_long)
    stall = bool(longest_stall > max_stay)
    no_stop = not bool(stopped)
    return {
        "skip": skip,
        "repeat": repeat,
        "stall": stall,
        "no_stop": no_stop,
        "failed": skip or repeat or stall or no_stop,
        "longest_stall": longest_stall,
        "focus_rate": focus_rate(alignment),
        "diagonality": diagonality(alignment, band),
    }


def default_max_stay(symbols, outputs):
    """The stall limit ``alignment_report`` uses unless told: ``max(8, 4 * outputs / symbols)``,
    four times the mean number of outputs per symbol, and never under 8 outputs."""
    return max(8, 4 * outputs / symbols)


def stall_runs(alignment, forced=None):
    """Every run of outputs that makes no progress, before the last symbol is reached.

    Progress is what ``alignment_report`` counts: an unforced output whose most-attended symbol
    lies beyond every symbol reached before it. A run starts after an output that made progress
    (or at the first output) and ends at the next one; runs after the last symbol is reached do
    not count (the end of an utterance may hold its last symbol).

    Args:
      alignment: [N, T] alignment over the N valid symbols and T outputs.
      forced: optional bool [T], True where an inference rule replaced the output's attention.

    Returns:
      list of ``(start, length, symbol)`` int tuples, in order: the first output of the run,
      how many outputs it lasts and the furthest symbol reached during it (-1 before any
      progress). ``alignment_report``'s ``longest_stall`` is the largest ``length``.
    """
    alignment, forced = _checked_inputs(alignment, forced)
    _, furthest = _furthest_reached(alignment, forced)
    return _runs_without_progress(furthest, alignment.shape[0] - 1)


def _longest_stall(furthest, last):
    """The longest of ``_runs_without_progress``, 0 if there is none."""
    return max((length for _, length, _ in _runs_without_progress(furthest, last)), default=0)


def _runs_without_progress(furthest, last):
    """``stall_runs`` from the furthest symbol reached by each output ([T]) and the last symbol."""
    runs, start, reached = [], 0, -1
    for index, value in enumerate(furthest):
        if reached >= last:
            break
        if value > reached:
            if index > start:
                runs.append((start, index - start, int(reached)))
            reached, start = value, index + 1
    end = len(furthest) if reached < last else start
    if end > start:
        runs.append((start, end - start, int(reached)))
    return runs


def failure_rates(reports):
    """Share of utterances with each failure, and the mean soft measures, over ``reports``."""
    if not reports:
        raise InvalidInputError("failure_rates needs at least one report.")
    keys = ("skip", "repeat", "stall", "no_stop", "failed", "focus_rate", "diagonality")
    return {key: float(np.mean([report[key] for report in reports])) for key in keys}
