"""The peer side of benchmarks/wavenet_training_parity.py: r9y9's ``wavenet_vocoder`` 0.1.1
(PyTorch, PyPI) in its own virtual environment.

The peer network is r9y9's ``WaveNet`` with a scalar input, a mixture of logistics output,
local conditioning at the sample rate (``upsample_conditional_features=False``) and its
residual blocks, skip sum (``legacy=False``: a plain sum, as ttszoo's) and ReLU-1x1-ReLU-1x1
head. r9y9 upsamples the mel with transposed convolutions and ttszoo with a frame-rate
convolution and linear interpolation between frame centres; so that both sides compute the same
function, the worker puts ttszoo's front end before r9y9's network: a ``Conv1d`` over the
window's frames (``same`` padding) and the linear interpolation (docs/wavenet.md). r9y9's
per-layer 1x1 conditioning convolutions then play ttszoo's ``condition_projection`` (ttszoo
projects before interpolating; the two commute).

Requests (one JSON line each, answered with one; see ``peer_process.serve``):

* ``{"cmd": "init", "sizes": {...}, "threads": 1, "seed": 0, "weights": path,
  "weight_norm": false}``: builds the network (``sizes``: ``n_mels``, ``hop_length``,
  ``residual_channels``, ``gate_channels``, ``skip_channels``, ``kernel_size``,
  ``num_layers``, ``dilation_cycle``, ``condition_channels``, ``condition_kernel_size``,
  ``num_mixtures``, ``num_classes``, ``log_scale_min``) with PyTorch's (or, with
  ``weight_norm``, r9y9's) initialisers and saves its initial weights to ``path`` (npz,
  PyTorch names and layouts).
* ``{"cmd": "outputs", "inputs": npz, "output": npy}``: the mixture parameters [B, 3M, S] of
  ``mel [B, n_mels, W + 4]`` (the window and two frames each side) and ``previous [B, S]``.
* ``{"cmd": "train_init", "learning_rate": 2e-3, "clip_norm": 1.0, "epsilon": 1e-7,
  "epsilon_as": "keras"}``: ``torch.optim.Adam`` and global-norm clipping (``clip_norm <= 0``:
  none); ``"keras"`` rescales epsilon at every step so that the update is Keras Adam's
  (``peer_process.use_keras_epsilon``), ``"torch"`` keeps PyTorch's.
* ``{"cmd": "train", "batches": npz, "skip": samples}``: one step per leading index of
  ``mel [K, B, n_mels, W + 4]``, ``previous [K, B, S]``, ``targets [K, B, S]``, each r9y9's
  ``discretized_mix_logistic_loss`` averaged over the samples after the first ``skip``;
  returns the losses and the seconds of each step.
* ``{"cmd": "heldout", "inputs": npz, "skip": samples, "output": npy}``: r9y9's loss on
  held-out windows, in inference mode; the parameters are saved for ttszoo's loss.
* ``{"cmd": "generate", "mel": npy, "output": npy, "seed": 0}``: r9y9's
  ``incremental_forward`` sampling audio from a whole utterance's ``mel [1, n_mels, T]``.
"""

import time

import numpy as np
import torch
from peer_process import serve, use_keras_epsilon
from torch.nn import functional
from wavenet_vocoder import WaveNet
from wavenet_vocoder.mixture import discretized_mix_logistic_loss


def interpolation_weights(hop):
    """Weights of the previous, own and next frame of each sample of a frame (docs/wavenet.md):
    sample ``i`` sits ``o = (i + 0.5) / hop - 0.5`` frames from its frame's centre."""
    offsets = (np.arange(hop) + 0.5) / hop - 0.5
    previous, following = np.maximum(-offsets, 0.0), np.maximum(offsets, 0.0)
    return torch.tensor(np.stack([previous, 1.0 - previous - following, following]),
                        dtype=torch.float32)  # fmt: skip


class FrontEnd(torch.nn.Module):
    """ttszoo's mel front end: conv over frames, then linear interpolation to the samples."""

    def __init__(self, n_mels, channels, kernel_size, hop):
        super().__init__()
        self.conv = torch.nn.Conv1d(n_mels, channels, kernel_size, padding=kernel_size // 2)
        self.hop = hop
        self.register_buffer("weights", interpolation_weights(hop), persistent=False)

    def upsample(self, frames):
        """Conditioning frames [B, C, W + 2] -> [B, C, W * hop] of the W inner frames."""
        previous, own, following = frames[:, :, :-2], frames[:, :, 1:-1], frames[:, :, 2:]
        w = self.weights
        upsampled = (previous[..., None] * w[0] + own[..., None] * w[1]
                     + following[..., None] * w[2])  # fmt: skip
        return upsampled.reshape(frames.shape[0], frames.shape[1], -1)

    def forward(self, mel):
        """A window's ``mel [B, n_mels, W + 4]`` (two frames each side) -> [B, C, W * hop]."""
        return self.upsample(self.conv(mel)[:, :, 1:-1])

    def whole(self, mel):
        """A whole utterance's ``mel [B, n_mels, T]`` -> [B, C, T * hop], the edge frames
        repeated for the interpolation (ttszoo's ``MelUpsampler``)."""
        return self.upsample(functional.pad(self.conv(mel), (1, 1), mode="replicate"))


class Peer:
    def init(self, request):
        torch.set_num_threads(int(request["threads"]))
        torch.manual_seed(int(request["seed"]))
        sizes = request["sizes"]
        self.sizes = sizes
        self.front = FrontEnd(sizes["n_mels"], sizes["condition_channels"],
                              sizes["condition_kernel_size"], sizes["hop_length"])  # fmt: skip
        self.wavenet = WaveNet(
            out_channels=3 * sizes["num_mixtures"], layers=sizes["num_layers"],
            stacks=sizes["num_layers"] // sizes["dilation_cycle"],
            residual_channels=sizes["residual_channels"], gate_channels=sizes["gate_channels"],
            skip_out_channels=sizes["skip_channels"], kernel_size=sizes["kernel_size"],
            dropout=0.0, cin_channels=sizes["condition_channels"],
            weight_normalization=bool(request.get("weight_norm")),
            upsample_conditional_features=False, scalar_input=True, legacy=False,
        )  # fmt: skip
        if not request.get("weight_norm"):  # r9y9 normalises the input conv regardless
            torch.nn.utils.remove_weight_norm(self.wavenet.first_conv)
        self.model = torch.nn.ModuleDict({"front": self.front, "wavenet": self.wavenet}).eval()
        state = {k: v.detach().numpy() for k, v in self.model.state_dict().items()}
        np.savez(request["weights"], **state)
        return {
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        }

    def forward(self, mel, previous):
        return self.wavenet(previous[:, None], c=self.front(mel))

    def loss(self, params, targets, skip):
        nll = discretized_mix_logistic_loss(
            params[:, :, skip:], targets[:, skip:, None], num_classes=self.sizes["num_classes"],
            log_scale_min=self.sizes["log_scale_min"], reduce=False,
        )  # fmt: skip
        return nll.mean()

    def outputs(self, request):
        inputs = np.load(request["inputs"])
        with torch.inference_mode():
            params = self.forward(torch.from_numpy(inputs["mel"]),
                                  torch.from_numpy(inputs["previous"]))  # fmt: skip
        np.save(request["output"], params.numpy())
        return {}

    def train_init(self, request):
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=float(request["learning_rate"]),
                                          eps=float(request["epsilon"]))  # fmt: skip
        self.clip_norm = float(request["clip_norm"])
        self.epsilon = float(request["epsilon"])
        self.epsilon_as = request["epsilon_as"]
        return {"optimizer": repr(self.optimizer.defaults)}

    def train_step(self, mel, previous, targets, skip):
        for param in self.model.parameters():
            param.grad = None
        loss = self.loss(self.forward(mel, previous), targets, skip)
        loss.backward()
        if self.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm)
        if self.epsilon_as == "keras":
            use_keras_epsilon(self.optimizer, self.epsilon)
        self.optimizer.step()
        return loss.item()

    def train(self, request):
        batches = np.load(request["batches"])
        tensors = [torch.from_numpy(batches[k]) for k in ("mel", "previous", "targets")]
        self.model.train()
        losses, seconds = [], []
        for step in range(tensors[0].shape[0]):
            started = time.perf_counter()
            losses.append(self.train_step(*(t[step] for t in tensors), int(request["skip"])))
            seconds.append(time.perf_counter() - started)
        self.model.eval()
        return {"losses": losses, "seconds": seconds}

    def heldout(self, request):
        inputs = np.load(request["inputs"])
        with torch.inference_mode():
            params = self.forward(torch.from_numpy(inputs["mel"]),
                                  torch.from_numpy(inputs["previous"]))  # fmt: skip
            loss = self.loss(params, torch.from_numpy(inputs["targets"]), int(request["skip"]))
        np.save(request["output"], params.numpy())
        return {"loss": float(loss)}

    def generate(self, request):
        torch.manual_seed(int(request["seed"]))
        mel = torch.from_numpy(np.load(request["mel"]))
        with torch.inference_mode():
            condition = self.front.whole(mel)
            audio = self.wavenet.incremental_forward(
                torch.zeros(1, 1, 1), c=condition, T=condition.shape[-1], softmax=False,
                quantize=True, log_scale_min=self.sizes["log_scale_min"],
            )  # fmt: skip
        np.save(request["output"], audio.reshape(1, -1).numpy())
        return {}


if __name__ == "__main__":
    serve(Peer())
