"""The peer side of benchmarks/gan_vocoder_speed.py: the PyTorch GAN vocoders of PyPI.

* HiFi-GAN: ``parallel_wavegan.models.HiFiGANGenerator`` of ``parallel-wavegan==0.6.1``
  (kan-bayashi), V1 (its defaults) or V3 (``channels=256``, rates 8 8 4, kernels 16 16 8,
  residual kernels 3 5 7 with dilations (1 2) (2 6) (3 12), ``use_additional_convs=False``);
* Vocos: ``vocos.models.VocosBackbone`` and ``vocos.heads.ISTFTHead`` of ``vocos==0.1.0``
  (gemelo-ai), the mel model's sizes (dim 512, MLP 1536, 8 blocks, n_fft 1024, hop 256,
  "same" padding) on 80 bands; ``head(backbone(mel))`` is what ``vocos.Vocos.decode`` does.

Runs in its own virtual environment (never a ttszoo dependency; set-up in
benchmarks/gan_vocoder_speed.py) and answers one JSON request per stdin line with one JSON
line on stdout:

* ``{"cmd": "init", "model": "hifigan_v1" | "hifigan_v3" | "vocos", "n_mels": 80,
  "threads": 2, "seed": 0, "weights": path}``: builds the model, saves its weights to ``path``
  (npz, PyTorch names and layouts) and returns the parameter count of the inference model.
  HiFi-GAN is saved as trained checkpoints are, with weight normalisation (``weight_g``,
  ``weight_v``; the gains scaled by random factors in [0.5, 1.5] so that folding them matters),
  and then runs with it removed, as the package does for inference.
* ``{"cmd": "run", "mel": npy [B, n_mels, T], "dtype": "float32" | "bfloat16" |
  "bfloat16_weights", "output": npy or null}``: one forward pass, timed in this process
  (``torch.inference_mode``); ``bfloat16`` runs under ``torch.autocast`` (float32 weights cast
  at every call), ``bfloat16_weights`` runs a copy of the model whose weights were converted to
  bf16 once (``bf16_copy``); the audio ``[B, T * hop]`` is saved to ``output`` as float32.

Two compatibility steps, needed because the peers' own imports reach past the model classes:
``parallel_wavegan.layers.pqmf`` imports ``scipy.signal.kaiser``, which SciPy 1.13 moved to
``scipy.signal.windows``, so the name is put back first; ``vocos/__init__.py`` imports the
pretrained-model loader (Hugging Face hub, EnCodec, torchaudio), and torchaudio has no build
for this torch, so ``vocos`` is entered as a bare package (its ``__init__`` not run) and
``torchaudio.functional.functional`` is a stand-in whose two mel helpers, used only by the
IMDCT head that is not timed here, raise if called.
"""

import importlib.util
import sys
import time
import types
import warnings
from copy import deepcopy

import numpy as np
import scipy.signal
import scipy.signal.windows
import torch
from peer_process import serve

HIFIGAN_V3 = {
    "channels": 256,
    "upsample_scales": (8, 8, 4),
    "upsample_kernel_sizes": (16, 16, 8),
    "resblock_kernel_sizes": (3, 5, 7),
    "resblock_dilations": [(1, 2), (2, 6), (3, 12)],
    "use_additional_convs": False,
}
VOCOS = {"dim": 512, "intermediate_dim": 1536, "num_layers": 8, "n_fft": 1024, "hop_length": 256}


def hifigan_class():
    if not hasattr(scipy.signal, "kaiser"):
        scipy.signal.kaiser = scipy.signal.windows.kaiser
    from parallel_wavegan.models import HiFiGANGenerator

    return HiFiGANGenerator


def _not_used_here(*args, **kwargs):
    raise RuntimeError("torchaudio stand-in: only vocos' IMDCT head needs this; not benchmarked.")


def vocos_classes():
    """``(VocosBackbone, ISTFTHead)`` without running ``vocos/__init__.py`` (module doc)."""
    if "vocos" not in sys.modules:
        package = types.ModuleType("vocos")
        package.__path__ = list(importlib.util.find_spec("vocos").submodule_search_locations)
        sys.modules["vocos"] = package
    if importlib.util.find_spec("torchaudio") is None:
        names = ("torchaudio", "torchaudio.functional", "torchaudio.functional.functional")
        for name in names:
            sys.modules.setdefault(name, types.ModuleType(name))
        sys.modules[names[-1]]._hz_to_mel = _not_used_here
        sys.modules[names[-1]]._mel_to_hz = _not_used_here
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    return VocosBackbone, ISTFTHead


class VocosDecoder(torch.nn.Module):
    """``vocos.Vocos.decode``: the backbone, then the inverse-STFT head."""

    def __init__(self, n_mels):
        super().__init__()
        backbone, head = vocos_classes()
        dim = VOCOS["dim"]
        self.backbone = backbone(n_mels, dim, VOCOS["intermediate_dim"], VOCOS["num_layers"])
        self.head = head(dim, VOCOS["n_fft"], VOCOS["hop_length"], padding="same")

    def forward(self, mel):
        return self.head(self.backbone(mel))


def scale_weight_norm_gains(model, generator):
    """Multiplies every ``weight_g`` by a random factor in [0.5, 1.5] (see module doc)."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("weight_g"):
                parameter.mul_(0.5 + torch.rand(parameter.shape, generator=generator))


def bf16_copy(model):
    """A copy of ``model`` with its weights in bf16, taking and returning float32 tensors.

    Vocos' inverse STFT stays float32 (PyTorch has no bf16 complex numbers): its backbone and
    the head's linear layer are converted, and the linear layer's output is cast to float32,
    as ttszoo's Vocos does under any precision.
    """
    copy = deepcopy(model)
    parts = [copy.backbone, copy.head.out] if isinstance(copy, VocosDecoder) else [copy]
    for part in parts:
        part.to(torch.bfloat16)
    last = copy.head.out if isinstance(copy, VocosDecoder) else copy
    last.register_forward_hook(lambda module, inputs, output: output.float())
    first = parts[0]
    first.register_forward_pre_hook(lambda module, inputs: (inputs[0].to(torch.bfloat16),))
    return copy


class Peer:
    def init(self, request):
        warnings.filterwarnings("ignore", message=".*weight_norm` is deprecated")
        torch.set_num_threads(int(request["threads"]))
        generator = torch.Generator().manual_seed(int(request["seed"]))
        torch.manual_seed(int(request["seed"]))
        n_mels, name = int(request["n_mels"]), request["model"]
        if name == "vocos":
            model = VocosDecoder(n_mels).eval()
        else:
            sizes = HIFIGAN_V3 if name == "hifigan_v3" else {}
            model = hifigan_class()(in_channels=n_mels, **sizes).eval()
            scale_weight_norm_gains(model, generator)
        state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
        np.savez(request["weights"], **state)
        if name != "vocos":
            model.remove_weight_norm()
        # The model each "dtype" of a run request runs ("bfloat16": under autocast).
        self.models = {"float32": model, "bfloat16": model, "bfloat16_weights": bf16_copy(model)}
        count = sum(p.numel() for p in model.parameters())
        return {"parameters": count, "torch": torch.__version__, "threads": torch.get_num_threads()}

    def run(self, request):
        mel = torch.from_numpy(np.load(request["mel"]))
        autocast = request["dtype"] == "bfloat16"
        model = self.models[request["dtype"]]
        started = time.perf_counter()
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=autocast):
            audio = model(mel)
        seconds = time.perf_counter() - started
        if request.get("output"):
            np.save(request["output"], audio.reshape(mel.shape[0], -1).float().numpy())
        return {"seconds": seconds}


if __name__ == "__main__":
    serve(Peer())
