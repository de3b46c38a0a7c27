"""`ttszoo train` whose checkpoint write of step STALL_AT stalls halfway, for the SIGKILL test.

The write puts the checkpoint's files on disk, cuts its .data file to half its size (the state
of a write interrupted mid-file), prints "STALLED IN WRITE" and sleeps, so the test can kill
the process during the write: after data went to disk and before the commit marker.
Usage: python stalled_checkpoint_train.py STALL_AT train <ttszoo train flags...>
"""

import glob
import os
import sys
import time

import tensorflow as tf

from ttszoo import cli

STALL_AT = int(sys.argv.pop(1))
_write = tf.train.Checkpoint.write


def _stalling_write(self, prefix, options=None):
    path = _write(self, prefix, options=options)
    if prefix.endswith(f"ckpt-{STALL_AT:09d}"):
        for data in glob.glob(f"{prefix}.data-*"):
            os.truncate(data, os.path.getsize(data) // 2)
        print("STALLED IN WRITE", file=sys.stderr, flush=True)
        time.sleep(120)
    return path


tf.train.Checkpoint.write = _stalling_write
sys.exit(cli.main(["ttszoo", *sys.argv[1:]]))
