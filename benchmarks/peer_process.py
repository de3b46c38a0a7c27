"""A PyTorch peer worker in its own virtual environment, driven one JSON request per line.

The workers (``benchmarks/wavegrad_peer_worker.py``, ``benchmarks/gan_peer_worker.py``) read a
request ``{"cmd": ..., ...}`` per stdin line and answer one JSON line on stdout, so ttszoo
and its peer run in separate processes and take turns, one timed run at a time. This module
imports only the standard library, so a worker in the peer's environment uses ``serve``.
"""

import json
import subprocess
import sys
from pathlib import Path


class PeerProcess:
    """The worker ``benchmarks/<worker>`` run by the interpreter ``python`` (the peer's venv)."""

    def __init__(self, python, worker):
        path = Path(__file__).with_name(worker)
        self.process = subprocess.Popen(
            [python, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, cmd, **request):
        self.process.stdin.write(json.dumps(dict(request, cmd=cmd)) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"The peer worker died during {cmd!r}.")
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def serve(handler):
    """The worker's loop: each stdin line ``{"cmd": name, ...}`` is answered on stdout with the
    JSON of ``getattr(handler, name)(request)``."""
    for line in sys.stdin:
        request = json.loads(line)
        reply = getattr(handler, request["cmd"])(request)
        print(json.dumps(reply), flush=True)


def use_keras_epsilon(optimizer, epsilon):
    """Sets a ``torch.optim.Adam``'s epsilon for its coming update so that the update is Keras
    Adam's. Keras adds epsilon to ``sqrt(v)``, PyTorch to the bias-corrected
    ``sqrt(v / (1 - beta_2^t))``; dividing epsilon by ``sqrt(1 - beta_2^t)`` turns one into the
    other (benchmarks/training_parity.py). ``t`` is the optimizer's own step count plus one."""
    for group in optimizer.param_groups:
        states = [optimizer.state[p] for p in group["params"] if optimizer.state[p]]
        step = int(states[0]["step"]) + 1 if states else 1
        group["eps"] = epsilon / (1 - group["betas"][1] ** step) ** 0.5
