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
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from ..images import load_image, resize
from ..losses import content_loss, gram_loss, gram_matrix, tv_loss
from ..models import Backbone, load_backbone
from ..utils import in_ci
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


def _style_targets(backbone: Backbone, styles: list[torch.Tensor], layers: list[str], size: int):
    targets = []
    with torch.no_grad():
        for s in styles:
            f = backbone.features(resize(s, size), layers)
            grams = {k: gram_matrix(f[k], "hw") for k in layers}
            targets.append({k: (g, g.pow(2).sum()) for k, g in grams.items()})
    return targets


def perceptual_loss(backbone, y, x, target, content_layers, style_layers, weights) -> dict:
    """{"content", "style", "tv"} of outputs y against inputs x and one style's Gram targets."""
    cw, sw, tw = weights
    fy = backbone.features(y, list(dict.fromkeys(content_layers + style_layers)))
    with torch.no_grad():
        fx = backbone.features(x, content_layers)
    c = sum(content_loss(fy[k], fx[k]) for k in content_layers)
    s = sum(gram_loss(gram_matrix(fy[k], "hw"), a.expand(y.shape[0], -1, -1), scale * y.shape[0])
            for k, (a, scale) in target.items())
    return {"content": cw * c, "style": sw * s, "tv": tw * tv_loss(y)}


def saturation_penalty(logits: torch.Tensor, limit: float = 4.0) -> torch.Tensor:
    """mean(relu(|z| − limit)²): zero while the sigmoid output stays within (0.018, 0.982)."""
    return F.relu(logits.abs() - limit).pow(2).mean()


def _dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    return world, rank


def train_fast_style(styles: list[torch.Tensor], content=None, backbone: Backbone | str | None = None,
                     steps: int = 1000, batch_size: int = 4, size: int = 256, content_weight: float = 1.0,
                     style_weight: float = 10.0, tv_weight: float = 1.0, lr: float = 1e-3,
                     checkpoint_every: int | None = None, checkpoint_path: str | Path | None = None,
                     seed: int = 0, norm: str = "instance", width: int = 32, net: TransformerNet | None = None,
                     content_layers=None, style_layers=None, style_names=None, progress: bool = True,
                     callback=None, device=None, saturation_weight: float = 1.0):
    """Train a TransformerNet for `styles` (list of (1, 3, h, w) in [0, 1]); returns (net, history).

    content: a folder of images, a list of image tensors, or None for `default_training_images()`.
    With more than one style the net uses conditional instance norm. A checkpoint at
    `checkpoint_path` from an earlier, stopped run is resumed (its step, optimizer and history).
    `saturation_weight` penalizes pre-sigmoid outputs beyond ±4: without it a short training can learn
    to paint fully saturated blobs (seen in a corner of every style of a 4-style net).
    """
    world, rank = _dist_info()
    torch.manual_seed(seed)
    backbone = load_backbone(backbone, device=device)
    device = backbone.mean.device
    content_layers = list(content_layers or backbone.defaults.content_layers)
    style_layers = list(style_layers or backbone.defaults.style_layers)
    images = (folder_images(content) if isinstance(content, (str, Path)) else
              list(content) if content is not None else default_training_images())
    data = CropDataset(images, size, seed=seed + 1000 * rank)
    if len(styles) > 1:
        norm = "conditional"
    net = net or TransformerNet(norm=norm, n_styles=len(styles) if norm == "conditional" else 1, width=width)
    net = net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    history = {"content": [], "style": [], "tv": [], "saturation": [], "total": [], "seconds": []}
    start_step = 0
    if checkpoint_path and Path(checkpoint_path).exists():
        start_step, history = _resume(checkpoint_path, net, opt)
    model = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    targets = _style_targets(backbone, [s.to(device) for s in styles], style_layers, size)
    rng = random.Random(seed)
    t0 = time.perf_counter()
    bar = _bar(steps - start_step, progress and rank == 0)
    for step in range(start_step + 1, steps + 1):
        k = rng.randrange(len(styles))
        x = data.sample(batch_size).to(device)
        z = model(x, k, logits=True)
        y = torch.sigmoid(z)
        terms = perceptual_loss(backbone, y, x, targets[k], content_layers, style_layers,
                                (content_weight, style_weight, tv_weight))
        if saturation_weight:
            terms["saturation"] = saturation_weight * saturation_penalty(z)
        total = sum(terms.values())
        if not torch.isfinite(total):
            raise FloatingPointError(f"Loss became {float(total)} at step {step}; lower lr or the weights.")
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        for name, v in {**terms, "total": total}.items():
            history[name].append(float(v.detach()))
        history["seconds"].append(time.perf_counter() - t0)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history['total'][-1]:.3g}", refresh=False)
        if callback is not None:
            callback(step, history)
        if rank == 0 and checkpoint_path and checkpoint_every and step % checkpoint_every == 0:
            _save_checkpoint(checkpoint_path, net, opt, step, history)
    if bar is not None:
        bar.close()
    if rank == 0 and checkpoint_path:
        _save_checkpoint(checkpoint_path, net, opt, steps, history)
    net.style_names = list(style_names or [f"style{i}" for i in range(len(styles))])
    return net.eval(), history


def _bar(total, show):
    if not show or in_ci():
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="training", leave=False)


def _save_checkpoint(path, net, opt, step, history) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": net.state_dict(), "config": net.config, "optimizer": opt.state_dict(),
                "step": step, "history": history}, tmp)
    tmp.replace(path)


def _resume(path, net, opt):
    ckpt = load_checkpoint_file(path)
    if ckpt["config"] != net.config:
        raise CheckpointError(f"{path} holds a {ckpt['config']} net, not the {net.config} being trained.")
    net.load_state_dict(net_from_checkpoint(ckpt, path).state_dict())
    if "optimizer" in ckpt:
        opt.load_state_dict(ckpt["optimizer"])
    return int(ckpt.get("step", 0)), ckpt.get("history", {"content": [], "style": [], "tv": [], "saturation": [],
                                                          "total": [], "seconds": []})


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
    net, hist = train_fast_style(styles, a.content, a.backbone, a.steps, a.batch_size, a.size, a.content_weight,
                                 a.style_weight, a.tv_weight, a.lr, checkpoint_every=max(1, a.steps // 10),
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
