"""DeepDream (Mordvintsev, Olah & Tyka 2015): amplify what a trained CNN sees in an image.

We maximize L(I) = Σ_l w_l · mean(h_l²) over the pixels I by gradient ascent, with the three tricks of
google/deepdream's `make_step`:
  1. jitter: roll the image by a random offset before the forward pass (and back after);
  2. divide the gradient by its mean absolute value (L1), so every step moves pixels by `step_size`;
  3. clip the pixels to the valid range.
Multi-scale "octaves" repeat this on an image pyramid, carrying the detail dreamt at a coarse scale up
to the next finer one, which gives the fractal look.

Rolling is differentiable, so jittering inside the objective (roll, forward) gives exactly the gradient
of the unrolled image: jitter and unjitter cost nothing extra.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .checks import check_image_size, check_layers, check_positive, check_range, check_steps
from .images import load_image
from .losses import l2_activation
from .models import Backbone, load_backbone
from .optimize import Result, optimize_image
from .prior import resolve

OBJECTIVES = ("l2", "channel", "guided")


def apply_jitter(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Roll (N, C, H, W) by dx pixels right and dy pixels down, wrapping around."""
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


def undo_jitter(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Undo `apply_jitter(x, dx, dy)`."""
    return torch.roll(x, shifts=(-dy, -dx), dims=(-2, -1))


def octave_sizes(size: tuple[int, int], octaves: int, scale: float) -> list[tuple[int, int]]:
    """The pyramid of (H, W), finest first: each octave is `scale` times smaller than the last."""
    h, w = size
    return [(max(1, round(h / scale**i)), max(1, round(w / scale**i))) for i in range(octaves)]


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


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


def deepdream(image: torch.Tensor, backbone: Backbone | str | None = None, layers=None, steps: int = 10,
              step_size: float = 1.5, jitter: int = 32, octaves: int = 4, octave_scale: float = 1.4,
              objective: str = "l2", clip: bool = True, seed: int | None = None, progress: bool = True,
              *, channel: int | None = None, guide: torch.Tensor | None = None,
              tile_size: int | None = 1024, prior="default", callback=None, should_stop=None) -> Result:
    """Dream on `image` (any image source; a tensor (1, 3, H, W) in [0, 1]).

    Returns a Result whose image is the dream, same shape, in [0, 1], and whose history joins the
    octaves' objective ("dream") step by step.

    Args:
        backbone: a Backbone or its name; None = the default backbone.
        layers: a layer name, a list (equal weights) or {layer: weight}; None = backbone.defaults.dream_layers.
        steps: gradient-ascent steps per octave.
        step_size: mean change per pixel per step, in units of the 0..255 scale (1.5 as in google/deepdream).
        jitter: largest random shift in pixels (0 turns jitter off).
        octaves, octave_scale: number of pyramid levels and the size ratio between them.
        objective: "l2" (mean h² of the layers), "channel" (mean activation of `channel` of a single
            layer) or "guided" (match the features of `guide`, an image (1, 3, h, w) in [0, 1]).
        clip: keep pixels in [0, 1] after every step.
        seed: fixes the jitter offsets.
        tile_size: images (as the net sees them) larger than this are processed in tiles (at least 64; None:
            never). 1024 keeps a 512 px photo, seen at 1024 px through the prior's 2x view, in one piece.
        prior: "default" lets the net see a 2x bilinear upsampling of the image, which removes the
            stride lattice of the gradient; "plain" shows it the image itself (see `lecturekit.prior`).
        callback, should_stop: passed to `optimize_image` (live previews, a Stop button); the image
            given to callback is the current octave's, at that octave's size.
    """
    image = check_image_size(load_image(image), "image")  # bad parameters fail before any work
    steps, octaves = check_steps(steps), check_steps(octaves, "octaves")
    check_positive("step_size", step_size)
    check_range("octave_scale", octave_scale, minimum=1.0)
    check_range("jitter", jitter, minimum=0, integer=True)
    if tile_size is not None:
        check_range("tile_size", tile_size, minimum=64, integer=True)
    resolve(prior, "dream")
    backbone = load_backbone(backbone)
    layers = backbone.defaults.dream_layers if layers is None else layers
    if not isinstance(layers, dict):
        check_layers(layers, "layers")
    elif not layers:
        raise ValueError("layers must name at least one layer; got an empty dict")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")
    if objective == "channel" and channel is None:
        raise ValueError("objective='channel' needs channel=<index>")
    if objective == "guided" and guide is None:
        raise ValueError("objective='guided' needs guide=<image tensor>")
    for layer in _layer_weights(layers):
        backbone.layer_index(layer)  # unknown names fail before any work
    device = backbone.mean.device
    if objective == "channel":
        _check_channel(backbone, list(_layer_weights(layers)), channel)
    gen = torch.Generator().manual_seed(seed if seed is not None else torch.seed() % 2**31)
    prior = resolve(prior, "dream")
    guides = None
    if objective == "guided":
        with torch.no_grad():
            guides = backbone.features(prior.view(load_image(guide).to(device)), list(_layer_weights(layers)))
    base = load_image(image).to(device)
    sizes = octave_sizes(tuple(base.shape[-2:]), octaves, octave_scale)
    pyramid = [_resize(base, s) for s in sizes]
    detail = torch.zeros_like(pyramid[-1])
    result = None
    for level, octave_base in enumerate(reversed(pyramid)):
        detail = _resize(detail, tuple(octave_base.shape[-2:]))

        def loss_fn(img, _gen=gen):
            dx, dy = (torch.randint(-jitter, jitter + 1, (2,), generator=_gen).tolist() if jitter else (0, 0))
            value = dream_objective(prior.view(apply_jitter(img, dx, dy)), backbone, layers, objective, channel,
                                    guides, tile_size)
            return {"dream": value}

        start = (octave_base + detail).clamp(0, 1) if clip else octave_base + detail
        r = optimize_image(loss_fn, start, optimizer="normalized_gd", steps=steps, lr=step_size / 255.0,
                           maximize=True, clamp=(0.0, 1.0) if clip else None, progress=progress,
                           desc=f"octave {level + 1}/{octaves}", callback=callback, should_stop=should_stop)
        detail = r.image - octave_base
        result = r if result is None else result.join(r)
        if r.stopped:
            break
    result.image = _resize((octave_base + detail).clamp(0, 1), tuple(base.shape[-2:])).cpu()
    result.config = dict(layers=layers if isinstance(layers, (str, list)) else dict(layers), steps=steps,
                         step_size=step_size, jitter=jitter, octaves=octaves, octave_scale=octave_scale,
                         objective=objective, channel=channel, seed=seed, backbone=backbone.name,
                         prior=dataclasses.asdict(prior))
    return result.cpu()


def zoom_into(x: torch.Tensor, zoom: float) -> torch.Tensor:
    """Crop the centre 1/zoom of (1, 3, H, W) and scale it back to H × W (one frame of a zoom)."""
    h, w = x.shape[-2:]
    ch, cw = max(1, round(h / zoom)), max(1, round(w / zoom))
    top, left = (h - ch) // 2, (w - cw) // 2
    return _resize(x[..., top:top + ch, left:left + cw], (h, w))


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
