"""DeepDream (Mordvintsev, Olah & Tyka 2015): amplify what a trained CNN sees in an image.

We maximize L(I) = Σ_l w_l · mean(h_l²) over the pixels I by gradient ascent, with the three tricks of
google/deepdream's `make_step`:
  1. jitter: roll the image by a random offset before the forward pass (and back after);
  2. divide the gradient by its mean absolute value (L1), so every step moves pixels by `step_size`;
  3. clip the pixels to the valid range.
Multi-scale "octaves" repeat this on an image pyramid, carrying the detail dreamt at a coarse scale up
to the next finer one, which gives the fractal look.

The octaves run through the shared coarse-to-fine loop (`optimize.optimize_stages`), the pyramid is
built with the package's antialiased `images.resize`, and the jitter is the prior's (`prior.jitter`):
rolling is differentiable, so jittering inside the objective (roll, forward) gives exactly the gradient
of the unrolled image: jitter and unjitter cost nothing extra. The options are a `DreamConfig`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch
from torch.utils.checkpoint import checkpoint

from .checks import check_image_size, check_range
from .configs import DREAM_OBJECTIVES as OBJECTIVES, DreamConfig  # noqa: F401  (re-exported)
from .images import load_image, resize
from .losses import l2_activation
from .models import Backbone, load_backbone
from .optimize import Result, RunControls, optimize_stages
from .prior import ImagePrior, resolve


def octave_sizes(size: tuple[int, int], octaves: int, scale: float) -> list[tuple[int, int]]:
    """The pyramid of (H, W), finest first: each octave is `scale` times smaller than the last."""
    h, w = size
    return [(max(1, round(h / scale**i)), max(1, round(w / scale**i))) for i in range(octaves)]


def _layer_weights(layers) -> dict[str, float]:
    if isinstance(layers, str):
        return {layers: 1.0}
    if isinstance(layers, dict):
        return {k: float(v) for k, v in layers.items()}
    return {layer: 1.0 for layer in layers}


def guided_objective(features: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Sum over positions of ⟨x_i, y_j*⟩, where y_j* is the guide feature that best matches x_i.

    features: (1, C, h, w) of the dreamt image; guide: (1, C, h', w') of the guide image. As in
    google/deepdream, the match is the largest dot product; its gradient pulls each position toward
    the guide's most similar feature.
    """
    x = features[0].flatten(1).float()          # (C, N)
    y = guide[0].flatten(1).float()             # (C, M)
    best = (x.t() @ y).argmax(dim=1).detach()   # (N,)
    return (x * y[:, best]).sum()


def _region_objective(backbone: Backbone, weights: dict[str, float], objective: str, channel: int | None,
                      guides: dict[str, torch.Tensor] | None, full_size: tuple[int, int],
                      core: tuple[int, int, int, int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """Objective of the activations whose positions fall inside `core` (y0, y1, x0, x1) of a crop.

    Each layer's sum is divided by the element count of that layer on the full image, so that tiled
    sums add up to the untiled objective exactly.
    """
    def fn(crop: torch.Tensor) -> torch.Tensor:
        feats = backbone.features(crop, list(weights))
        total = crop.new_zeros(())
        untiled = tuple(crop.shape[-2:]) == tuple(full_size) == (core[1] - core[0], core[3] - core[2])
        for layer, w in weights.items():
            h = feats[layer]
            if untiled:  # the whole image: every position counts, whatever the net's padding
                count, whole = h.shape[-2] * h.shape[-1], True
            else:
                stride = 2 ** round(math.log2(crop.shape[-2] / h.shape[-2])) if h.shape[-2] > 1 else crop.shape[-2]
                y0, y1 = core[0] // stride, (math.ceil(core[1] / stride) if core[1] < crop.shape[-2] else h.shape[-2])
                x0, x1 = core[2] // stride, (math.ceil(core[3] / stride) if core[3] < crop.shape[-1] else h.shape[-1])
                h = h[..., y0:y1, x0:x1]
                count = math.ceil(full_size[0] / stride) * math.ceil(full_size[1] / stride)
                whole = h.shape[-2] * h.shape[-1] == count
            if objective == "l2":
                value = l2_activation(h) if whole else h.float().pow(2).sum() / (count * h.shape[1])
            elif objective == "channel":
                value = h[:, channel].float().sum() / count
            else:
                value = guided_objective(h, guides[layer]) / count
            total = total + w * value
        return total
    return fn


def dream_objective(image: torch.Tensor, backbone: Backbone, layers, objective: str = "l2",
                    channel: int | None = None, guides: dict | None = None, tile_size: int | None = None,
                    halo: int = 128) -> torch.Tensor:
    """The DeepDream objective of (1, 3, H, W) in [0, 1], to be maximized.

    Images larger than `tile_size` are processed tile by tile. Each tile is extended by a `halo` of
    context (multiples of 32 px keep the feature grid aligned) and only its core counts, and each tile's
    activations are checkpointed: memory holds one tile at a time, and the gradient matches the
    untiled one up to the receptive field cut off by the halo.
    """
    weights = _layer_weights(layers)
    H, W = image.shape[-2:]
    if tile_size is None or max(H, W) <= tile_size:
        return _region_objective(backbone, weights, objective, channel, guides, (H, W), (0, H, 0, W))(image)
    total = image.new_zeros(())
    for y0 in range(0, H, tile_size):
        for x0 in range(0, W, tile_size):
            ya, xa = max(y0 - halo, 0), max(x0 - halo, 0)
            yb, xb = min(y0 + tile_size + halo, H), min(x0 + tile_size + halo, W)
            core = (y0 - ya, min(y0 + tile_size, H) - ya, x0 - xa, min(x0 + tile_size, W) - xa)
            fn = _region_objective(backbone, weights, objective, channel, guides, (H, W), core)
            total = total + checkpoint(fn, image[..., ya:yb, xa:xb], use_reentrant=False)
    return total


def _check_channel(backbone: Backbone, layers: list[str], channel) -> None:
    """`channel` must index a channel of every layer (found with one pass of a small grey image)."""
    with torch.no_grad():
        feats = backbone.features(torch.full((1, 3, 64, 64), 0.5, device=backbone.mean.device), layers)
    count = min(f.shape[1] for f in feats.values())
    check_range("channel", channel, minimum=0, maximum=count - 1, integer=True)


def deepdream(image, backbone: Backbone | str | None = None, *, guide=None,
              controls: RunControls | None = None, **options) -> Result:
    """Dream on `image` (any image source; a tensor (1, 3, H, W) in [0, 1]).

    options: the fields of `DreamConfig` (layers=None, steps=10, step_size=1.5, jitter=32, octaves=4,
    octave_scale=1.4, objective="l2", channel=None, clip=True, seed=0, tile_size=1024,
    prior="default") and the run controls (progress=, callback=, should_stop=, snapshots=, or
    controls=RunControls(...)); the image given to callback is the current octave's, at its size.
    guide: the guide image of objective="guided" (1, 3, h, w) in [0, 1].
    prior: "default" lets the net see a 2x bilinear upsampling of the image, which removes the stride
    lattice of the gradient; "plain" shows it the image itself (see `lecturekit.prior`).

    Returns a Result whose image is the dream, same shape, in [0, 1], whose history joins the octaves'
    objective ("dream") step by step, and whose config is the DreamConfig's (with the backbone).
    """
    controls = RunControls.take(options, controls)
    cfg = DreamConfig(**options)  # bad parameters fail before any work
    base = check_image_size(load_image(image), "image")
    if cfg.objective == "guided" and guide is None:
        raise ValueError("objective='guided' needs guide=<image tensor>")
    backbone = load_backbone(backbone)
    weights = _layer_weights(cfg.layers if cfg.layers is not None else backbone.defaults.dream_layers)
    for layer in weights:
        backbone.layer_index(layer)  # unknown names fail before any work
    if cfg.objective == "channel":
        _check_channel(backbone, list(weights), cfg.channel)
    prior = resolve(cfg.prior, "dream")
    prior = prior if prior.jitter else dataclasses.replace(prior, jitter=cfg.jitter)  # the one jitter
    base = base.to(backbone.mean.device)
    gen = torch.Generator().manual_seed(cfg.seed if cfg.seed is not None else torch.seed() % 2**31)
    loss_fn = _dream_loss(backbone, weights, cfg, prior, _guides(backbone, weights, prior, guide), gen)
    sizes = octave_sizes(tuple(base.shape[-2:]), cfg.octaves, cfg.octave_scale)[::-1]  # coarse to fine
    result = optimize_stages(lambda size, previous: (loss_fn, octave_start(base, size, previous, cfg.clip)),
                             sizes, [cfg.steps] * len(sizes), controls, desc="dream", optimizer="normalized_gd",
                             lr=cfg.step_size / 255.0, maximize=True, clamp=(0.0, 1.0) if cfg.clip else None)
    result.image = result.image.clamp(0, 1)
    layers = dict(weights) if isinstance(cfg.layers, dict) else list(weights)
    result.config = {**dataclasses.asdict(cfg), "layers": layers, "backbone": backbone.name,
                     "prior": dataclasses.asdict(prior)}
    return result.cpu()


def octave_start(base: torch.Tensor, size: tuple[int, int], previous: torch.Tensor | None,
                 clip: bool = True) -> torch.Tensor:
    """The start of the octave of `size` (H, W): the photo at that size plus the detail dreamt so far
    (`previous`, the last octave's dream, minus the photo at its size), enlarged."""
    octave_base = resize(base, size)
    if previous is not None:
        detail = previous - resize(base, tuple(previous.shape[-2:]))
        octave_base = octave_base + resize(detail, size, clamp=False)
    return octave_base.clamp(0, 1) if clip else octave_base


def _guides(backbone: Backbone, weights: dict, prior: ImagePrior, guide) -> dict | None:
    """The guide's features at the dream layers, seen through the prior's view without its jitter."""
    if guide is None:
        return None
    with torch.no_grad():
        view = dataclasses.replace(prior, jitter=0).view(load_image(guide).to(backbone.mean.device))
        return backbone.features(view, list(weights))


def _dream_loss(backbone: Backbone, weights: dict, cfg: DreamConfig, prior: ImagePrior, guides, gen):
    """Loss image -> {"dream": objective of the jittered view}, maximized by `optimize_image`."""
    def loss_fn(img: torch.Tensor) -> dict:
        return {"dream": dream_objective(prior.view(img, gen), backbone, weights, cfg.objective, cfg.channel,
                                         guides, cfg.tile_size)}
    return loss_fn


def zoom_into(x: torch.Tensor, zoom: float) -> torch.Tensor:
    """Crop the centre 1/zoom of (1, 3, H, W) and scale it back to H × W (one frame of a zoom)."""
    h, w = x.shape[-2:]
    ch, cw = max(1, round(h / zoom)), max(1, round(w / zoom))
    top, left = (h - ch) // 2, (w - cw) // 2
    return resize(x[..., top:top + ch, left:left + cw], (h, w))


def zoom_dream(image: torch.Tensor, backbone: Backbone | str | None = None, frames: int = 8, zoom: float = 1.05,
               seed: int = 0, **dream_options) -> list[torch.Tensor]:
    """Zoom-feedback frames: dream, zoom into the centre a little, dream again, `frames` times.

    Returns the list of frames, each (1, 3, H, W) in [0, 1]; `lk.images.save_gif` turns them into an
    animation. `dream_options` go to `deepdream` (layers, steps, octaves, ...).
    """
    out, x = [], image
    for i in range(frames):
        x = deepdream(x, backbone, seed=seed + i, **dream_options).image
        out.append(x)
        x = zoom_into(x, zoom)
    return out
