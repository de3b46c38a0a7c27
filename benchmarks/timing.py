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


def round_order(names, round_index):
    """The runs of round ``round_index`` (from 0) in turn: ``names`` in even rounds, reversed in
    odd ones (A B C, C B A, A B C, ...).

    Over each pair of rounds every run's two positions add up to the same number, so a load
    that drifts steadily during a round costs every run the same on average instead of always
    sparing whichever run went first (use an even number of rounds).
    """
    names = list(names)
    return names if round_index % 2 == 0 else names[::-1]


def time_runs(runs, rounds):
    """Seconds of each run (name -> function) per round, after one warm-up call of each.

    A function that times itself (the peer, without the pipe) returns a dict with a
    ``"seconds"`` entry; otherwise its wall time counts. The order reverses every round
    (``round_order``).
    """
    for run in runs.values():  # warm up: XLA compilation, oneDNN primitives
        run()
    times = {name: [] for name in runs}
    for round_index in range(rounds):
        for name in round_order(runs, round_index):
            started = time.perf_counter()
            out = runs[name]()
            seconds = time.perf_counter() - started
            timed_itself = isinstance(out, dict) and "seconds" in out
            times[name].append(out["seconds"] if timed_itself else seconds)
    return times


def vocoding_speed(vocode, mels, sample_rate, warm_up=True):
    """Vocodes each mel once, timed, for the "seconds per second of audio" of a vocoder.

    Args:
      vocode: mel ``[1, T, n_mels]`` -> dict with ``"audio"`` ``[1, S]`` (a vocoder model's or
        a ``Synthesizer``'s ``vocode``, or Griffin-Lim wrapped alike).
      mels: the utterances' mels, each ``[1, T, n_mels]``.
      sample_rate: of the audio, in Hz.
      warm_up: vocode each mel once untimed first, so tracing and compiling for a new length
        are not counted (the steady-state cost; False counts them).

    Returns:
      ``(audios, seconds_per_audio_second)``: each utterance's ``[S]`` float32 numpy audio from
      the timed calls (for the distances of the same run) and the total compute seconds over
      the total audio seconds (below 1 is faster than real time).
    """
    audios, seconds = [], 0.0
    for mel in mels:
        if warm_up:
            vocode(mel)
        started = time.perf_counter()
        audio = vocode(mel)["audio"][0].numpy()
        seconds += time.perf_counter() - started
        audios.append(audio)
    return audios, seconds / (sum(len(audio) for audio in audios) / sample_rate)
