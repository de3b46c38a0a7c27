"""The driver's side of lmnt-com/wavegrad 0.1.5 for the WaveGrad benchmarks.

``PeerProcess`` runs ``benchmarks/wavegrad_peer_worker.py`` in the peer's own virtual
environment (torch and ``wavegrad==0.1.5``, never a ttszoo dependency); ``load_torch_weights``
copies the peer's state dict into a ttszoo ``WaveGrad`` of the same sizes; ``peer_sizes`` gives
the worker a ttszoo model's sizes so that it builds lmnt's blocks at those sizes; and
``network_disagreement`` compares one pass of both networks on the same inputs. Used by
``vocoder_speed.py`` (and through it ``accelerator_check.py``) and
``wavegrad_training_parity.py``.
"""

from pathlib import Path

import numpy as np
import peer_process


class PeerProcess(peer_process.PeerProcess):
    """The lmnt-com/wavegrad worker (benchmarks/wavegrad_peer_worker.py)."""

    def __init__(self, python):
        super().__init__(python, "wavegrad_peer_worker.py")


def peer_sizes(model, n_mels):
    """The sizes of a ttszoo ``WaveGrad`` as the worker's ``init`` takes them (``"sizes"``)."""
    return {
        "upsample_factors": list(model.upsample_factors),
        "upsample_channels": list(model.upsample_channels),
        "upsample_dilations": [list(d) for d in model.upsample_dilations],
        "downsample_channels": list(model.downsample_channels),
        "mel_channels": int(model.mel_channels),
        "n_mels": int(n_mels),
    }


def load_torch_weights(model, weights):
    """Copies lmnt-com/wavegrad's state dict (npz) into a ttszoo ``WaveGrad`` of the same sizes."""

    def put(conv, prefix):
        kernel = weights[f"{prefix}.weight"].transpose(2, 1, 0)  # [out, in, k] -> [k, in, out]
        conv.set_weights([kernel, weights[f"{prefix}.bias"]])

    put(model.audio_conv, "downsample.0")
    for i, dblock in enumerate(model.dblocks, start=1):
        put(dblock.residual_conv, f"downsample.{i}.residual_dense")
        for j, conv in enumerate(dblock.convs):
            put(conv, f"downsample.{i}.conv.{j}")
    for i, film in enumerate(model.films):
        put(film.input_conv, f"film.{i}.input_conv")
        put(film.output_conv, f"film.{i}.output_conv")
    put(model.mel_conv, "first_conv")
    for i, ublock in enumerate(model.ublocks):
        put(ublock.residual_conv, f"upsample.{i}.block1")
        names = ["block2.0", "block2.1", "block3.0", "block3.1"]
        for conv, name in zip(ublock.convs, names, strict=True):
            put(conv, f"upsample.{i}.{name}")
    put(model.output_conv, "last_conv")


def network_disagreement(peer, model, work_dir, audio, mel, level):
    """Largest difference of one pass of both networks on ``audio [B, S]``, ``mel [B, T,
    n_mels]``, ``level [B]`` (float32 numpy), relative to the peer's largest output; well
    under 1e-3 when the weights and the noise-level encoding agree."""
    inputs, output = Path(work_dir) / "eps_inputs.npz", Path(work_dir) / "peer_eps.npy"
    np.savez(inputs, audio=audio, mel=mel.transpose(0, 2, 1), level=level)
    peer("eps", inputs=str(inputs), output=str(output))
    ours = np.asarray(model(audio, mel, level))
    theirs = np.load(output)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())
