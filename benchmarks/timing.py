"""Timing helpers shared by the benchmark scripts (run them from the repository root)."""

import time

import tensorflow as tf


def seconds_of(function):
    """Seconds of one call of ``function``, every tensor it returns fetched (so asynchronous
    work is counted)."""
    started = time.perf_counter()
    tf.nest.map_structure(lambda tensor: tensor.numpy(), function())
    return time.perf_counter() - started


def best_seconds(function, repeats):
    """Least time of ``repeats`` calls of ``function`` after one warm-up (compile) call.

    The minimum is the least disturbed run, the fairest figure on a shared machine.
    """
    function()
    return min(seconds_of(function) for _ in range(repeats))


def alternating_seconds(ours, theirs, rounds):
    """Timed runs of two contenders taking turns: ``ours, theirs, theirs, ours`` per round.

    Each argument is a callable returning the seconds of one run (the caller decides what is
    timed: ``seconds_of`` in this process, or a time reported by a peer process). The mirrored
    order gives both the same share of any drift in the machine's load.

    Returns:
      ``(our_seconds, their_seconds)``: lists of ``2 * rounds`` timings each.
    """
    our_seconds, their_seconds = [], []
    for _ in range(rounds):
        our_seconds.append(ours())
        their_seconds.append(theirs())
        their_seconds.append(theirs())
        our_seconds.append(ours())
    return our_seconds, their_seconds
