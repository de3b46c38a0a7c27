"""Timing helper shared by the benchmark scripts (run them from the repository root)."""

import time

import tensorflow as tf


def best_seconds(function, repeats):
    """Least time of ``repeats`` calls of ``function`` after one warm-up (compile) call.

    Every tensor ``function`` returns is fetched, so asynchronous work is counted. The minimum is
    the least disturbed run, the fairest figure on a shared machine.
    """
    function()
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        tf.nest.map_structure(lambda tensor: tensor.numpy(), function())
        timings.append(time.perf_counter() - started)
    return min(timings)
