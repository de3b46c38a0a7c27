"""The peer side of benchmarks/vocoder_speed.py and accelerator_check.py: lmnt-com/wavegrad 0.1.5
on PyTorch (the CPU, or a CUDA GPU with ``"device": "cuda"``).

Runs in its own virtual environment (torch and ``wavegrad==0.1.5``, never a ttszoo
dependency) and answers one JSON request per stdin line with one JSON line on stdout:

* ``{"cmd": "init", "betas": [...], "n_mels": 128, "threads": 2, "seed": 0,
  "weights": path, "device": "cpu" | "cuda"}``: builds ``wavegrad.model.WaveGrad`` with the given inference schedule,
  saves its initial weights to ``path`` (npz, PyTorch names and layouts) and returns the
  parameter count.
* ``{"cmd": "eps", "inputs": npz, "output": npy}``: one network pass on ``audio [B, S]``,
  ``mel [B, n_mels, T]``, ``level [B]``, for the equivalence check.
* ``{"cmd": "run", "mel": npy, "dtype": "float32" | "bfloat16", "output": npy or null}``:
  the reverse process of ``wavegrad.inference.predict`` (compact step, noise for n > 0,
  clamp after every step), timed; bf16 runs the network under ``torch.autocast``.
"""

import json
import sys
import time

import numpy as np
import torch
from wavegrad.model import WaveGrad
from wavegrad.params import AttrDict, params


class Peer:
    def init(self, request):
        torch.set_num_threads(int(request["threads"]))
        torch.manual_seed(int(request["seed"]))
        self.params = AttrDict(params).override({"noise_schedule": request["betas"]})
        self.device = torch.device(request.get("device", "cpu"))
        self.model = WaveGrad(self.params).eval()
        state = {k: v.detach().numpy() for k, v in self.model.state_dict().items()}
        self.model.to(self.device)
        np.savez(request["weights"], **state)
        count = sum(p.numel() for p in self.model.parameters())
        return {"parameters": count, "torch": torch.__version__, "threads": torch.get_num_threads()}

    def eps(self, request):
        inputs = np.load(request["inputs"])
        with torch.inference_mode():
            out = self.model(
                *(torch.from_numpy(inputs[k]).to(self.device) for k in ("audio", "mel", "level"))
            )
        np.save(request["output"], out[:, 0].cpu().numpy())
        return {}

    def run(self, request):
        mel = torch.from_numpy(np.load(request["mel"])).to(self.device)
        beta = np.array(self.params.noise_schedule)
        alpha = 1 - beta
        alpha_cum = np.cumprod(alpha)
        bf16 = request["dtype"] == "bfloat16"
        started = time.perf_counter()
        autocast = torch.autocast(self.device.type, torch.bfloat16, enabled=bf16)
        with torch.inference_mode(), autocast:
            samples = self.params.hop_samples * mel.shape[-1]
            audio = torch.randn(mel.shape[0], samples, device=self.device)
            noise_scale = torch.from_numpy(alpha_cum**0.5).float().unsqueeze(1).to(self.device)
            for n in range(len(alpha) - 1, -1, -1):
                c1 = 1 / alpha[n] ** 0.5
                c2 = (1 - alpha[n]) / (1 - alpha_cum[n]) ** 0.5
                eps = self.model(audio, mel, noise_scale[n]).squeeze(1).float()
                audio = c1 * (audio - c2 * eps)
                if n > 0:
                    sigma = ((1.0 - alpha_cum[n - 1]) / (1.0 - alpha_cum[n]) * beta[n]) ** 0.5
                    audio += sigma * torch.randn_like(audio)
                audio = torch.clamp(audio, -1.0, 1.0)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        if request.get("output"):
            np.save(request["output"], audio.float().cpu().numpy())
        return {"seconds": seconds}


def main():
    peer = Peer()
    for line in sys.stdin:
        request = json.loads(line)
        reply = getattr(peer, request["cmd"])(request)
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
