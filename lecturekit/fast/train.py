"""Training fast style networks with a perceptual loss (Johnson, Alahi & Fei-Fei 2016).

    L(y) = α ||Φ_c(y) − Φ_c(x)||² + β Σ_l w_l E_l(y, a_s) + λ_TV R_V(y),  y = f_W(x)

Φ from a frozen backbone, x a batch of content crops, a_s the style image. For a conditional net one
style is drawn per batch (Dumoulin et al. 2017). Runs on one process, or under
`torchrun --nproc_per_node=N -m lecturekit.fast.train ...` with DistributedDataParallel (gloo on CPU,
nccl on CUDA).
"""
from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .. import checks
from ..images import load_image, resize
from ..losses import ContentTargets, GramTargets, summed, tv_loss
from ..models import Backbone, load_backbone
from .fit import checkpoint_hook, fit, progress_hook
from .stylize import CheckpointError, load_checkpoint_file, net_from_checkpoint, save_fast_style
from .transformer_net import TransformerNet

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class CropDataset:
    """Random square crops (with random scale and horizontal flips) of a list of images."""

    def __init__(self, images: list[torch.Tensor], size: int, seed: int = 0):
        self.images = [self._fit(im, size) for im in images]
        self.size = size
        self.rng = random.Random(seed)

    @staticmethod
    def _fit(im: torch.Tensor, size: int) -> torch.Tensor:
        """Cap the long side at max(512, 2·size) (never enlarging), then make the short side >= size."""
        im = resize(im, min(max(im.shape[-2:]), max(512, 2 * size)))
        short = min(im.shape[-2:])
        return im if short >= size else resize(im, scale=size / short + 1e-3)

    def sample(self, batch: int) -> torch.Tensor:
        """(batch, 3, size, size) in [0, 1]."""
        out = []
        for _ in range(batch):
            im = self.rng.choice(self.images)
            side = self.rng.randint(self.size, min(im.shape[-2:]))
            y = self.rng.randint(0, im.shape[-2] - side)
            x = self.rng.randint(0, im.shape[-1] - side)
            crop = resize(im[..., y:y + side, x:x + side], (self.size, self.size))
            out.append(crop.flip(-1) if self.rng.random() < 0.5 else crop)
        return torch.cat(out)


def default_training_images(max_size: int = 512) -> list[torch.Tensor]:
    """The images that ship with installed packages plus the registry's content photos."""
    from .. import data
    images = []
    for name in data.names():
        e = data.entry(name)
        if e.role == "content" or e.source == "package":
            try:
                images.append(load_image(data.path(name), max_size=max_size))
            except (FileNotFoundError, ValueError):
                continue
    return images


def folder_images(folder: str | Path, max_size: int = 512, limit: int | None = None) -> list[torch.Tensor]:
    """Every image file in `folder` (recursively), loaded at most `max_size` px."""
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {folder}")
    return [load_image(p, max_size=max_size) for p in files[:limit]]


def style_terms(backbone: Backbone, styles: list[torch.Tensor], layers: list[str], size: int) -> list[GramTargets]:
    """One Gram style term per style, from the painting resized to the training crop size."""
    features = lambda x, ls: backbone.features(x, ls)  # noqa: E731
    return [GramTargets(features, [resize(s, size)], layers) for s in styles]


def perceptual_loss(backbone: Backbone, y: torch.Tensor, x: torch.Tensor, style: GramTargets,
                    content_layers: list[str], weights: tuple[float, float, float]) -> dict:
    """{"content", "style", "tv"} of outputs y (N, 3, H, W) against inputs x and one style's term."""
    cw, sw, tw = weights
    features = lambda im, ls: backbone.features(im, ls)  # noqa: E731
    fy = features(y, list(dict.fromkeys(content_layers + style.layers)))
    content = ContentTargets(features, x, content_layers)
    return {"content": summed(content.terms(fy, cw), "content"), "style": summed(style.terms(fy, sw), "style"),
            "tv": tw * tv_loss(y)}


def saturation_penalty(logits: torch.Tensor, limit: float = 4.0) -> torch.Tensor:
    """mean(relu(|z| − limit)²): zero while the sigmoid output stays within (0.018, 0.982)."""
    return F.relu(logits.abs() - limit).pow(2).mean()


def _dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    return world, rank


@dataclass(frozen=True)
class TrainConfig:
    """The options of one fast-style training, validated once; saved with the net.

    steps, batch_size, size (crop side), lr: Adam's budget. content_weight, style_weight, tv_weight,
    saturation_weight: the loss (`perceptual_loss` + `saturation_penalty`, which keeps the pre-sigmoid
    outputs within ±4: without it a short training learns to paint fully saturated blobs).
    norm, width: the TransformerNet (more than one style forces "conditional").
    checkpoint_path, checkpoint_every: a resumable checkpoint. style_names: the styles' names.
    """

    steps: int = 1000
    batch_size: int = 4
    size: int = 256
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 1.0
    saturation_weight: float = 1.0
    lr: float = 1e-3
    seed: int = 0
    norm: str = "instance"
    width: int = 32
    content_layers: tuple[str, ...] | None = None
    style_layers: tuple[str, ...] | None = None
    style_names: tuple[str, ...] | None = None
    checkpoint_path: str | None = None
    checkpoint_every: int | None = None

    def __post_init__(self):
        checks.check_steps(self.steps)
        checks.check_steps(self.batch_size, "batch_size")
        checks.check_size(self.size, allow_none=False)
        for name in ("content_weight", "style_weight", "tv_weight", "saturation_weight"):
            checks.check_weight(name, getattr(self, name))
        checks.check_positive("lr", self.lr)
        checks.check_range("width", self.width, minimum=1, maximum=512, integer=True)
        checks.check_choice("norm", self.norm, ("instance", "batch", "conditional"))
        if self.checkpoint_every is not None:
            checks.check_steps(self.checkpoint_every, "checkpoint_every")
        for name in ("content_layers", "style_layers", "style_names"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.checkpoint_path is not None:  # a folder, a read-only file or a file in its path: said now
            object.__setattr__(self, "checkpoint_path", str(checks.check_writable(self.checkpoint_path,
                                                                                   "the checkpoint")))


def train_fast_style(styles: list[torch.Tensor], content=None, backbone: Backbone | str | None = None, *,
                     net: nn.Module | None = None, progress: bool = True, callback=None, device=None,
                     **options):
    """Train a TransformerNet for `styles` (list of (1, 3, h, w) in [0, 1]); returns (net, history).

    content: a folder of images, a list of image tensors, or None for `default_training_images()`.
    options: the fields of `TrainConfig` (steps=1000, batch_size=4, size=256, ...). With more than one
    style the net uses conditional instance norm. A checkpoint at `checkpoint_path` from an earlier,
    stopped run is resumed (its step, optimizer and history). callback(step, history) after each step.
    """
    cfg = TrainConfig(**options)
    world, rank = _dist_info()
    torch.manual_seed(cfg.seed)
    backbone = load_backbone(backbone, device=device)
    device = backbone.mean.device
    content_layers = list(cfg.content_layers or backbone.defaults.content_layers)
    style_layers = list(cfg.style_layers or backbone.defaults.style_layers)
    names = list(cfg.style_names or [f"style {i}" for i in range(len(styles))])
    net = (net or _new_net(cfg, names)).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    start, history = 0, None
    if cfg.checkpoint_path and Path(cfg.checkpoint_path).exists():
        start, history = _resume(cfg.checkpoint_path, net, opt)
    model = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    targets = style_terms(backbone, [s.to(device) for s in styles], style_layers, cfg.size)
    loss = _training_loss(backbone, targets, content_layers, cfg, random.Random(cfg.seed))
    hooks = [progress_hook(cfg.steps - start, progress and rank == 0)]
    if callback is not None:
        hooks.append(lambda step, _net, hist: callback(step, hist))
    if rank == 0 and cfg.checkpoint_path:
        hooks.append(checkpoint_hook(lambda step, hist: _save_checkpoint(cfg.checkpoint_path, net, opt, step, hist),
                                     cfg.checkpoint_every))
    try:
        history = fit(model, loss, _batches(content, cfg, rank, device), opt, cfg.steps, hooks, start, history)
    finally:
        hooks[0].close()
    if rank == 0 and cfg.checkpoint_path:
        _save_checkpoint(cfg.checkpoint_path, net, opt, cfg.steps, history)
    if hasattr(net, "styles"):
        net.styles = names
    return net.eval(), history


def _new_net(cfg: TrainConfig, names: list[str]) -> TransformerNet:
    norm = "conditional" if len(names) > 1 else cfg.norm
    return TransformerNet(norm=norm, n_styles=len(names) if norm == "conditional" else 1, width=cfg.width,
                          styles=names if norm == "conditional" or len(names) == 1 else None)


def _batches(content, cfg: TrainConfig, rank: int, device):
    """An endless iterator of (batch_size, 3, size, size) random crops of the training images."""
    images = (folder_images(content) if isinstance(content, (str, Path)) else
              list(content) if content is not None else default_training_images())
    data = CropDataset(images, cfg.size, seed=cfg.seed + 1000 * rank)
    while True:
        yield data.sample(cfg.batch_size).to(device)


def _training_loss(backbone, targets: list[GramTargets], content_layers, cfg: TrainConfig, rng: random.Random):
    """loss(net, x): one style drawn per batch (Dumoulin et al.), the perceptual loss and the penalty."""
    def loss(net, x):
        k = rng.randrange(len(targets))
        z = net(x, k, logits=True)
        terms = perceptual_loss(backbone, torch.sigmoid(z), x, targets[k], content_layers,
                                (cfg.content_weight, cfg.style_weight, cfg.tv_weight))
        if cfg.saturation_weight:
            terms["saturation"] = cfg.saturation_weight * saturation_penalty(z)
        return terms
    return loss


def _save_checkpoint(path, net, opt, step, history) -> None:
    from ..utils import atomic_path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"state_dict": net.state_dict(), "config": net.config, "optimizer": opt.state_dict(),
                    "step": step, "history": history}, tmp)


def _resume(path, net, opt):
    ckpt = load_checkpoint_file(path)
    if ckpt["config"] != net.config:
        raise CheckpointError(f"{path} holds a {ckpt['config']} net, not the {net.config} being trained.")
    net.load_state_dict(net_from_checkpoint(ckpt, path).state_dict())
    if "optimizer" in ckpt:
        opt.load_state_dict(ckpt["optimizer"])
    return int(ckpt.get("step", 0)), ckpt.get("history") or {}


def main(argv=None) -> None:
    """Command line: python -m lecturekit.fast.train --style starry_night --out net.pt [...]."""
    from .. import data
    p = argparse.ArgumentParser(description="Train a fast style network (works under torchrun).")
    p.add_argument("--style", nargs="+", required=True, help="registry names or image paths")
    p.add_argument("--content", default=None, help="folder of training images (default: built-in set)")
    p.add_argument("--out", required=True, help="where to save the final fp16 weights")
    p.add_argument("--checkpoint", default=None, help="resumable checkpoint file")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--tv-weight", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--norm", default="instance")
    p.add_argument("--backbone", default=None)
    a = p.parse_args(argv)
    names = [Path(s).stem if Path(s).exists() else s for s in a.style]
    styles = [load_image(s) if Path(s).exists() else data.load(s) for s in a.style]
    net, hist = train_fast_style(styles, a.content, a.backbone, steps=a.steps, batch_size=a.batch_size,
                                 size=a.size, content_weight=a.content_weight, style_weight=a.style_weight,
                                 tv_weight=a.tv_weight, lr=a.lr, checkpoint_every=max(1, a.steps // 10),
                                 checkpoint_path=a.checkpoint, seed=a.seed, norm=a.norm, width=a.width,
                                 style_names=names)
    _, rank = _dist_info()
    if rank == 0:
        cfg = {k: v for k, v in vars(a).items() if k not in ("out", "checkpoint")}
        cfg["final_loss"] = sum(hist["total"][-20:]) / max(1, len(hist["total"][-20:]))
        save_fast_style(net, a.out, names, **cfg)
        print(f"saved {a.out}: final loss {cfg['final_loss']:.4g}")
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
