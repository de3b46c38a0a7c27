"""Preprocessing throughput (utterances/s) and input-pipeline speed (batches/s) on this machine.

    python benchmarks/data_pipeline.py [--workers 1 2] [--batches 200]

Builds (or reuses) the demo corpus, preprocesses it with each worker count, then iterates the
tf.data pipeline for a few feature sets and prints a markdown table for docs/benchmarks.md.
"""

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import ttszoo  # noqa: F401
from ttszoo.data import build_demo_corpus, make_dataset, preprocess_corpus


def pipeline_rate(records, features, batches, batch_size):
    dataset = make_dataset(records, batch_size=batch_size, features=features, frame_multiple=4)
    iterator = iter(dataset)
    for _ in range(5):  # warm-up: fills the cache and the prefetch buffer
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch_size", type=int, default=16)
    args = parser.parse_args()
    corpus = build_demo_corpus()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for workers in args.workers:
            summary = preprocess_corpus(
                corpus, Path(scratch) / f"w{workers}", num_workers=workers, progress=False
            )
            rows.append(
                (
                    f"preprocess, {workers} worker(s)",
                    f"{summary.utterances_per_second:.1f} utterances/s",
                )
            )
        records = Path(scratch) / f"w{args.workers[-1]}"
        for features in [
            ("text", "mel"),
            ("text", "mel", "linear"),
            ("text", "mel", "linear", "audio"),
        ]:
            rate = pipeline_rate(records, features, args.batches, args.batch_size)
            rows.append(
                (f"pipeline {'+'.join(features)}, batch {args.batch_size}", f"{rate:.1f} batches/s")
            )
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; corpus: demo (332 utterances)\n"
    )
    print("| measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
