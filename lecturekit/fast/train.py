"""Training fast style networks with a perceptual loss (Johnson, Alahi & Fei-Fei 2016).

`train_fast_style` puts the pieces together: the training photos (`data`), the loss (`loss`), the net
of a registered architecture (`registry`), data-parallel set-up (`distributed`), the one training loop
(`fit`) and resumable checkpoints (`checkpoint`). Runs on one process, or under
`torchrun --nproc_per_node=N -m lecturekit.fast.train ...` with DistributedDataParallel (gloo on CPU,
nccl on CUDA); the command line is `fast.cli`.
"""
from __future__ import annotations

import inspect
import random
from pathlib import Path

import torch
from torch import nn

from ..configs import TrainConfig
from ..models import Backbone, load_backbone
from ..optimize import RunControls
from .checkpoint import resume, save_checkpoint
from .data import CropDataset, batches, default_training_images, folder_images  # noqa: F401  (re-exported)
from .distributed import dist_info, wrap
from .fit import checkpoint_hook, fit
from .loss import perceptual_loss, saturation_penalty, style_terms, training_loss  # noqa: F401  (re-exported)
from .registry import ARCHITECTURES, build


def train_fast_style(styles: list[torch.Tensor], content=None, backbone: Backbone | str | None = None, *,
                     net: nn.Module | None = None, device=None, callback=None, controls: RunControls | None = None,
                     **options):
    """Train a feed-forward net for `styles` (list of (1, 3, h, w) in [0, 1]); returns (net, history).

    content: a folder of images, a list of image tensors, or None for `default_training_images()`.
    options: the fields of `TrainConfig` (steps=1000, batch_size=4, size=256, arch="transformer_net",
    ...) and the run controls (progress=, should_stop=, or controls=RunControls(...)). With more than
    one style the TransformerNet uses conditional instance norm. A checkpoint at `checkpoint_path` from
    an earlier, stopped run is resumed (its step, optimizer and history). callback(step, history)
    after each step. A NaN loss or Ctrl-C stops the training with a warning, keeping the last good
    weights (`history.stopped` says which); the checkpoint then records the steps really done.
    """
    controls = RunControls.take(options, controls)
    cfg = TrainConfig(**options)
    world, rank = dist_info()
    torch.manual_seed(cfg.seed)
    backbone = load_backbone(backbone, device=device)
    device = backbone.mean.device
    names = list(cfg.style_names or [f"style {i}" for i in range(len(styles))])
    net = (net or new_net(cfg, names)).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    start, history = resume(cfg.checkpoint_path, net, opt) if _resumable(cfg) else (0, {})
    style_layers = list(cfg.style_layers or backbone.defaults.style_layers)
    targets = style_terms(backbone, [s.to(device) for s in styles], style_layers, cfg.style_size or cfg.size)
    loss = training_loss(backbone, targets, list(cfg.content_layers or backbone.defaults.content_layers),
                         loss_weights(cfg), cfg.saturation_weight, random.Random(cfg.seed))
    hooks = [] if callback is None else [lambda step, _net, hist: callback(step, hist)]
    save = (lambda step, hist: save_checkpoint(cfg.checkpoint_path, net, opt, step, hist)) if rank == 0 else None
    if save and cfg.checkpoint_path:
        hooks.append(checkpoint_hook(save, cfg.checkpoint_every))
    controls = controls if rank == 0 else RunControls(False, controls.callback, controls.should_stop)
    history = fit(wrap(net, world), loss, batches(content, cfg.size, cfg.batch_size, cfg.seed + 1000 * rank, device),
                  opt, cfg.steps, hooks, start, history, controls=controls)
    if save and cfg.checkpoint_path:
        save(len(history.get("total", [])), history)
    net.styles = names
    return net.eval(), history


def loss_weights(cfg: TrainConfig) -> tuple[float, float, float, float]:
    """(content, style, luminance TV, chroma TV) weights of the perceptual loss."""
    chroma = cfg.tv_weight if cfg.chroma_tv_weight is None else cfg.chroma_tv_weight
    return cfg.content_weight, cfg.style_weight, cfg.tv_weight, chroma


def _resumable(cfg: TrainConfig) -> bool:
    return bool(cfg.checkpoint_path) and Path(cfg.checkpoint_path).exists()


def new_net(cfg: TrainConfig, names: list[str]) -> nn.Module:
    """A fresh net of the registered architecture `cfg.arch` for these styles. The TransformerNet's norm
    is "conditional" for several styles; every architecture gets those of n_styles, styles, width and
    norm that its constructor takes (see `registry`)."""
    if cfg.arch not in ARCHITECTURES:
        raise ValueError(f"Unknown fast-style architecture {cfg.arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    norm = "conditional" if len(names) > 1 else cfg.norm
    offered = dict(n_styles=len(names) if norm == "conditional" or cfg.arch != "transformer_net" else 1,
                   styles=names if norm == "conditional" or len(names) == 1 else None, width=cfg.width, norm=norm)
    accepted = inspect.signature(ARCHITECTURES[cfg.arch]).parameters
    return build({"arch": cfg.arch, **{k: v for k, v in offered.items() if k in accepted}})


if __name__ == "__main__":  # python -m lecturekit.fast.train ... (and under torchrun): one-line errors as `lecturekit train-fast`
    import sys
    from ..__main__ import main
    raise SystemExit(main(["train-fast", *sys.argv[1:]]))
