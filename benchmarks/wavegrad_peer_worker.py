"""The peer side of benchmarks/vocoder_speed.py, accelerator_check.py and
wavegrad_training_parity.py: lmnt-com/wavegrad 0.1.5 on PyTorch (the CPU, or a CUDA GPU with
``"device": "cuda"``).

Runs in its own virtual environment (torch and ``wavegrad==0.1.5``, never a ttszoo
dependency) and answers one JSON request per stdin line with one JSON line on stdout:

* ``{"cmd": "init", "betas": [...], "n_mels": 128, "threads": 2, "seed": 0,
  "weights": path, "device": "cpu" | "cuda", "sizes": null or {...}}``: builds
  ``wavegrad.model.WaveGrad`` with the given inference schedule, saves its initial weights to
  ``path`` (npz, PyTorch names and layouts) and returns the parameter count and lmnt's
  training noise-level table (``[1, sqrt(alpha_bar_1), ...]`` as its learner builds it).
  ``sizes`` (``upsample_factors``, ``upsample_channels``, ``upsample_dilations``,
  ``downsample_channels``, ``mel_channels``, ``n_mels``) rebuilds the model's five module
  lists from lmnt's own blocks at those sizes; without it the model is lmnt's Base (128 mels).
* ``{"cmd": "eps", "inputs": npz, "output": npy}``: one network pass on ``audio [B, S]``,
  ``mel [B, n_mels, T]``, ``level [B]``, for the equivalence check.
* ``{"cmd": "run", "mel": npy, "dtype": "float32" | "bfloat16", "output": npy or null,
  "seed": int or null}``: the reverse process of ``wavegrad.inference.predict`` (compact step,
  noise for n > 0, clamp after every step), timed; bf16 runs the network under
  ``torch.autocast``.
* ``{"cmd": "train_init", "learning_rate": 2e-4, "max_grad_norm": 1.0, "epsilon": null}``:
  lmnt's optimizer (``torch.optim.Adam`` with its defaults but the learning rate, as
  ``learner._train_impl``); an ``epsilon`` is used as Keras adds it
  (``peer_process.use_keras_epsilon``).
* ``{"cmd": "train", "batches": npz}``: one training step per leading index of ``audio [K, B,
  S]``, ``mel [K, B, n_mels, T]``, ``level [K, B]``, ``noise [K, B, S]``, each the step of
  ``learner.WaveGradLearner.train_step`` in float32 with the noise level and noise given
  instead of drawn; returns the losses and the seconds of each step.
* ``{"cmd": "heldout", "inputs": npz}``: the mean L1 between ``noise`` and the network's
  prediction on ``level * audio + sqrt(1 - level^2) * noise`` (``audio [N, S]``, ``mel [N,
  n_mels, T]``, ``level [N]``, ``noise [N, S]``), in inference mode, and each crop's
  (``l1_per_crop``).
"""

import time

import numpy as np
import torch
from peer_process import serve, use_keras_epsilon
from wavegrad.model import Conv1d, DBlock, FiLM, UBlock, WaveGrad
from wavegrad.params import AttrDict, params


def resize(model, sizes):
    """Replaces ``model``'s module lists by lmnt's blocks at ``sizes`` (see the ``init`` command),
    wired as lmnt's ``WaveGrad.__init__`` wires Base."""
    up, down = sizes["upsample_channels"], sizes["downsample_channels"]
    down_factors = sizes["upsample_factors"][:0:-1]
    model.downsample = torch.nn.ModuleList(
        [Conv1d(1, down[0], 5, padding=2)]
        + [DBlock(down[i], down[i + 1], f) for i, f in enumerate(down_factors)]
    )
    model.film = torch.nn.ModuleList(
        [FiLM(channels, out) for channels, out in zip(down, up[::-1], strict=True)]
    )
    inputs = [sizes["mel_channels"], *up[:-1]]
    model.upsample = torch.nn.ModuleList(
        [
            UBlock(i, o, f, list(d))
            for i, o, f, d in zip(
                inputs, up, sizes["upsample_factors"], sizes["upsample_dilations"], strict=True
            )
        ]
    )
    model.first_conv = Conv1d(sizes["n_mels"], sizes["mel_channels"], 3, padding=1)
    model.last_conv = Conv1d(up[-1], 1, 3, padding=1)


class Peer:
    def init(self, request):
        torch.set_num_threads(int(request["threads"]))
        torch.manual_seed(int(request["seed"]))
        self.params = AttrDict(params).override({"noise_schedule": request["betas"]})
        self.device = torch.device(request.get("device", "cpu"))
        self.model = WaveGrad(self.params).eval()
        if request.get("sizes"):
            resize(self.model, request["sizes"])
        state = {k: v.detach().numpy() for k, v in self.model.state_dict().items()}
        self.model.to(self.device)
        np.savez(request["weights"], **state)
        count = sum(p.numel() for p in self.model.parameters())
        # As WaveGradLearner.__init__ builds it, from lmnt's own training schedule.
        training_levels = np.cumprod(1 - np.array(params.noise_schedule)) ** 0.5
        self.noise_level_table = np.concatenate([[1.0], training_levels])
        return {
            "parameters": count,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "training_noise_level_table": self.noise_level_table.tolist(),
        }

    def eps(self, request):
        inputs = np.load(request["inputs"])
        with torch.inference_mode():
            out = self.model(
                *(torch.from_numpy(inputs[k]).to(self.device) for k in ("audio", "mel", "level"))
            )
        np.save(request["output"], out[:, 0].cpu().numpy())
        return {}

    def run(self, request):
        if request.get("seed") is not None:
            torch.manual_seed(int(request["seed"]))
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

    def train_init(self, request):
        self.epsilon = request.get("epsilon")
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=float(request["learning_rate"]), eps=self.epsilon or 1e-8
        )
        self.max_grad_norm = float(request["max_grad_norm"])
        self.loss_fn = torch.nn.L1Loss()
        return {"optimizer": repr(self.optimizer.defaults)}

    def train_step(self, audio, mel, level, noise):
        """WaveGradLearner.train_step with ``noise_scale`` and ``noise`` given."""
        for param in self.model.parameters():
            param.grad = None
        noise_scale = level.unsqueeze(1)
        noisy_audio = noise_scale * audio + (1.0 - noise_scale**2) ** 0.5 * noise
        predicted = self.model(noisy_audio, mel, noise_scale.squeeze(1))
        loss = self.loss_fn(noise, predicted.squeeze(1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        if self.epsilon is not None:
            use_keras_epsilon(self.optimizer, self.epsilon)
        self.optimizer.step()
        return loss.item()

    def train(self, request):
        batches = np.load(request["batches"])
        names = ("audio", "mel", "level", "noise")
        tensors = [torch.from_numpy(batches[name]).to(self.device) for name in names]
        self.model.train()
        losses, seconds = [], []
        for step in range(tensors[0].shape[0]):
            started = time.perf_counter()
            losses.append(self.train_step(*(t[step] for t in tensors)))
            seconds.append(time.perf_counter() - started)
        self.model.eval()
        return {"losses": losses, "seconds": seconds}

    def heldout(self, request):
        inputs = np.load(request["inputs"])
        audio, mel, level, noise = (
            torch.from_numpy(inputs[name]).to(self.device)
            for name in ("audio", "mel", "level", "noise")
        )
        with torch.inference_mode():
            scale = level.unsqueeze(1)
            noisy = scale * audio + (1.0 - scale**2) ** 0.5 * noise
            predicted = self.model(noisy, mel, level).squeeze(1)
            per_crop = (noise - predicted).abs().mean(dim=1)
            return {"l1": float(per_crop.mean()), "l1_per_crop": per_crop.tolist()}


if __name__ == "__main__":
    serve(Peer())
