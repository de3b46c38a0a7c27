"""Two workers on loopback: TF_CONFIG selects MultiWorkerMirroredStrategy, the workers train in
lock step (identical weights), and only the chief writes checkpoints to the model directory."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from ttszoo.training import complete_steps

HERE = Path(__file__).parent


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_two_workers_on_loopback_train_in_lock_step(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        environment = dict(
            os.environ,
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        )
        workers.append(
            subprocess.Popen(
                [sys.executable, str(HERE / "multiworker_check.py"), str(tmp_path / "run")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=environment,
            )  # fmt: skip
        )
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-4000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["multi_worker"] for r in reports] == [True, True]
    assert [r["replicas"] for r in reports] == [2, 2]
    assert [r["chief"] for r in reports] == [True, False]
    assert [r["step"] for r in reports] == [3, 3]
    np.testing.assert_allclose(reports[0]["weights"], reports[1]["weights"], atol=1e-6)
    assert complete_steps(str(tmp_path / "run" / "checkpoints")) == [2, 3]
    assert not list((tmp_path / "run").glob(".worker-*"))  # the non-chief's scratch is removed
