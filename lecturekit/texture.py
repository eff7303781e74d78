"""Texture synthesis, classic and neural.

- `efros_leung`: Efros & Leung (ICCV 1999), non-parametric sampling. The output grows outward from a
  seed; each new pixel copies the centre of a sample patch whose known neighbourhood matches best
  (Gaussian-weighted SSD), chosen at random among the near-best.
- `synthesize_texture`: Gatys, Ecker & Bethge (NeurIPS 2015). Starting from noise, match the Gram
  matrices of the sample at several layers: L = Σ_l w_l E_l.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from .color import match_histogram as _match_histogram
from .checks import (check_choice, check_image_size, check_layer_weights, check_layers, check_positive, check_range,
                     check_size, check_steps, check_weight)
from .images import enlarge, load_image, resize, test_shape
from .losses import ColourTargets, GramTargets, StrokeTargets, luminance_grain, relative_tv_loss, summed
from .models import Backbone, load_backbone
from .optimize import OPTIMIZERS, Result, RunControls, initial_image, optimize_stages
from .prior import PLAIN, ImagePrior, resolve


def _gaussian(window: int) -> torch.Tensor:
    sigma = window / 6.4
    r = torch.arange(window, dtype=torch.float32) - window // 2
    g = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def efros_leung(sample: torch.Tensor, out_size: int | tuple[int, int], window: int = 11,
                seed: int | None = None, tolerance: float = 0.1, return_source: bool = False):
    """Synthesize a texture of `out_size` (int or (H, W)) from `sample` (1, 3, h, w) in [0, 1].

    Every output pixel is copied from the sample, so only the sample's colours appear. `tolerance`
    accepts patches within (1 + tolerance) of the best distance. With return_source=True also returns
    the (H, W, 2) map of sample coordinates (row, col) each pixel was copied from.
    """
    if window % 2 == 0 or window < 3:
        raise ValueError("window must be an odd number >= 3")
    sample = load_image(sample)  # any image source
    out_size = check_size(out_size, "out_size", allow_none=False, allow_pair=True, minimum=3)
    check_range("tolerance", tolerance, minimum=0)
    H, W = (out_size, out_size) if isinstance(out_size, int) else out_size
    s = sample[0].float().cpu()
    h, w = s.shape[-2:]
    if h < window or w < window:
        raise ValueError(f"The sample ({w}x{h}) must be at least as large as the window ({window}).")
    r = window // 2
    gen = torch.Generator().manual_seed(0 if seed is None else seed)
    patches = F.unfold(s[None], window)[0].t().contiguous()              # (P, 3*k*k)
    centres = torch.stack(torch.meshgrid(torch.arange(r, h - r), torch.arange(r, w - r), indexing="ij"), -1).view(-1, 2)
    gauss = _gaussian(window).flatten().repeat(3)                         # (3*k*k,)
    out = torch.zeros(3, H + 2 * r, W + 2 * r)
    filled = torch.zeros(H + 2 * r, W + 2 * r)
    source = torch.full((H, W, 2), -1, dtype=torch.long)
    _place_seed(s, out, filled, source, r, gen)
    ones = torch.ones(1, 1, 3, 3)
    while filled[r:r + H, r:r + W].sum() < H * W:
        known = F.conv2d(filled[None, None], ones, padding=1)[0, 0]
        frontier = ((known > 0) & (filled == 0))
        frontier[:r], frontier[-r:], frontier[:, :r], frontier[:, -r:] = False, False, False, False
        ys, xs = frontier.nonzero(as_tuple=True)
        order = known[ys, xs].argsort(descending=True)
        for y, x in zip(ys[order].tolist(), xs[order].tolist()):
            neigh = out[:, y - r:y + r + 1, x - r:x + r + 1].flatten()
            mask = filled[y - r:y + r + 1, x - r:x + r + 1].flatten().repeat(3) * gauss
            d = ((patches - neigh) ** 2) @ mask / mask.sum()
            ok = (d <= d.min() * (1 + tolerance) + 1e-12).nonzero().flatten()
            pick = ok[torch.randint(len(ok), (1,), generator=gen)].item()
            cy, cx = centres[pick].tolist()
            out[:, y, x] = s[:, cy, cx]
            filled[y, x] = 1
            source[y - r, x - r] = torch.tensor([cy, cx])
    result = out[:, r:r + H, r:r + W][None]
    return (result, source) if return_source else result


def _place_seed(s, out, filled, source, r, gen, size: int = 3) -> None:
    """Copy a random size x size patch of the sample into the middle of the output."""
    h, w = s.shape[-2:]
    H, W = out.shape[-2] - 2 * r, out.shape[-1] - 2 * r
    sy = torch.randint(0, h - size + 1, (1,), generator=gen).item()
    sx = torch.randint(0, w - size + 1, (1,), generator=gen).item()
    oy, ox = (H - size) // 2, (W - size) // 2
    out[:, r + oy:r + oy + size, r + ox:r + ox + size] = s[:, sy:sy + size, sx:sx + size]
    filled[r + oy:r + oy + size, r + ox:r + ox + size] = 1
    for i in range(size):
        for j in range(size):
            source[oy + i, ox + j] = torch.tensor([sy + i, sx + j])


# The sample's palette as the colour term compares it: 6 × 6 patches every 2 px (each pixel in 3 × 3 of them) on 32
# directions of RGB. On 8 directions a colour lying between two of the sample's (green between The Starry Night's
# blue and yellow, magenta on Matisse) could match every projection and grew into blotches (bench/results.md).
PALETTE = {"blur": 6, "directions": 32, "stride": 2}


def texture_loss(features, targets: GramTargets, prior: ImagePrior = PLAIN, sample: torch.Tensor | None = None,
                 colour_weight: float = 0.0, strokes: StrokeTargets | None = None,
                 sample_tv: torch.Tensor | None = None):
    """Loss image -> {"texture", "tv", "tv_chroma", "tv_sample", "colour", "strokes", "texture:<layer>" per
    layer} for `optimize_image`.

    features: (image, layers) -> features, the same function that built `targets`. With a colour_weight, the
    term "colour" is colour_weight × the sliced Wasserstein distance of x's patch colours to the sample's
    (`losses.ColourTargets` with `PALETTE`). With the prior's `strokes` weight, the term "strokes" is that
    weight × `strokes.loss(x)` (the sample's grain: the histograms of its luminance's pyramid bands);
    `strokes` is then required. With the prior's `sample_tv` weight, the term "tv_sample" is that weight ×
    `losses.relative_tv_loss(x, sample_tv)`: the luminance TV against the sample's own, `sample_tv` being
    `losses.luminance_grain` of the sample at x's scale, then required.
    """
    if prior.strokes and strokes is None:
        raise ValueError("the prior has a strokes weight: pass the sample's StrokeTargets as `strokes`")
    if prior.sample_tv and sample_tv is None:
        raise ValueError("the prior has a sample_tv weight: pass the sample's luminance_grain as `sample_tv`")
    colours = ColourTargets(sample, **PALETTE) if colour_weight else None    # the sample's quantiles, sorted once

    def loss_fn(x: torch.Tensor) -> dict:
        terms = targets.terms(features(x, targets.layers))
        extra = {"colour": colour_weight * colours.loss(x)} if colours else {}
        if prior.strokes:
            extra["strokes"] = prior.strokes * strokes.loss(x)
        if prior.sample_tv:
            extra["tv_sample"] = prior.sample_tv * relative_tv_loss(x, sample_tv)
        return {"texture": summed(terms, "texture"), **prior.penalty(x), **extra, **terms}
    return loss_fn


def synthesize_texture(sample, backbone: Backbone | str | None = None, layers=None, *,
                       layer_weights=None, size: int | tuple[int, int] | None = None, steps: int = 150,
                       optimizer: str = "lbfgs", seed: int | None = None, match_histogram: bool = False,
                       tv_weight: float | None = None, colour_weight: float | None = None,
                       stroke_weight: float | None = None, sample_tv_weight: float | None = None,
                       lr: float | None = None,
                       prior="default", controls: RunControls | None = None, **run) -> Result:
    """Gatys's neural texture: an image whose Gram matrices match `sample`'s (1, 3, h, w) in [0, 1].

    Args:
        sample: any image source (path, registered name, tensor, ...).
        layers: layers whose Grams are matched (None: backbone.defaults.texture_layers).
        layer_weights: one weight per layer (None: equal).
        size: output size, an int (square) or (H, W); may be larger than the sample. None: the sample's.
        match_histogram: afterwards, match each colour channel's histogram to the sample's
            (as in the DeepTextures code), which removes colour casts.
        tv_weight: the prior's luminance TV weight (None: the prior's own).
        colour_weight: weight of the colour-distribution term (`losses.ColourTargets` with `PALETTE`: the
            colours of 6×6 patches on 32 directions of RGB against the sample's; Risser et al. 2017), which
            keeps the sample's palette where the Gram matrices alone let colour casts in; None: the prior's
            `colour` (3000 in the default prior, 0 in "plain"); 0 turns it off (Gatys's loss alone).
        stroke_weight: weight of the sample's grain (`losses.StrokeTargets`: the histograms of the bands of a
            Laplacian pyramid of the luminance, 2 to 16 px wide, matched to the sample's as in Heeger & Bergen
            1995), which gives back the detail and the contrast that the Gram matrices seen through the 2x view
            leave as a fog; None: the prior's `strokes` (300 in the default prior, 0 in "plain"); 0 turns it off.
        sample_tv_weight: weight of the luminance TV measured against the sample's own
            (`losses.relative_tv_loss`), which makes the texture's finest grain the sample's, neither softer nor
            grainier; None: the prior's `sample_tv` (3 in the default prior, 0 in "plain"); 0 turns it off.
        prior: "default" (2x view, chroma TV, the sample's own luminance TV, coarse-to-fine), "plain", a dict of
            overrides or an ImagePrior (see `lecturekit.prior`).
        controls, **run: the run controls (progress=, callback=, should_stop=, snapshots=).
    """
    controls = RunControls.take(run, controls)
    sample = check_image_size(load_image(sample), "sample")  # bad parameters fail before any work
    size, steps = check_size(size, allow_pair=True), check_steps(steps)
    check_weight("tv_weight", tv_weight, allow_none=True)
    check_weight("colour_weight", colour_weight, allow_none=True)
    check_weight("stroke_weight", stroke_weight, allow_none=True)
    check_weight("sample_tv_weight", sample_tv_weight, allow_none=True)
    check_positive("lr", lr, allow_none=True)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    prior = resolve(prior, "texture")
    prior = prior if tv_weight is None else dataclasses.replace(prior, tv=tv_weight)
    prior = prior if colour_weight is None else dataclasses.replace(prior, colour=colour_weight)
    prior = prior if stroke_weight is None else dataclasses.replace(prior, strokes=stroke_weight)
    prior = prior if sample_tv_weight is None else dataclasses.replace(prior, sample_tv=sample_tv_weight)
    backbone = load_backbone(backbone)
    weights = _texture_layers(backbone, layers, layer_weights)
    sample = sample.to(backbone.mean.device)
    final = tuple(sample.shape[-2:]) if size is None else (size, size) if isinstance(size, int) else tuple(size)
    final = test_shape(final)
    sizes = prior.stage_sizes(max(final))
    seen: dict = {}  # the sample's Gram targets per view, computed once

    def make_stage(side: int, previous):
        return _stage(backbone, prior, sample, weights, final, side, previous, seed, last=side == sizes[-1], seen=seen)

    result = optimize_stages(make_stage, sizes, prior.stage_steps(steps, len(sizes)), controls, desc="texture",
                             optimizer=optimizer, lr=lr)
    if match_histogram:
        result.image = _match_histogram(result.image, sample)
    result.config.update(layers=list(weights), layer_weights=list(weights.values()), size=list(final), seed=seed,
                         colour_weight=prior.colour, stroke_weight=prior.strokes, sample_tv_weight=prior.sample_tv,
                         match_histogram=match_histogram, prior=dataclasses.asdict(prior), sizes=sizes)
    return result.cpu()


def _stage(backbone: Backbone, prior: ImagePrior, sample: torch.Tensor, weights: dict[str, float],
           final: tuple[int, int], side: int, previous: torch.Tensor | None, seed: int | None, last: bool,
           seen: dict):
    """Loss function, starting image and options of the coarse-to-fine stage whose longest side is `side`.

    The last stage after coarser ones takes the prior's final view and, with `prior.final_luminance`,
    changes the luminance only, as in style transfer. The sample's grain (`StrokeTargets`) and its own TV
    (`sample_tv`) are taken at the stage's scale: the sample shrunk by side / max(final). seen: {view scale:
    (features, Gram targets)}, filled here, so that stages with the same view share the sample's targets."""
    last = last and previous is not None
    prior = prior.final() if last else prior
    shape = tuple(max(1, round(d * side / max(final))) for d in final)
    if prior.view_scale not in seen:
        features = lambda x, ls, p=prior: backbone.features(p.view(x), ls)  # noqa: E731
        seen[prior.view_scale] = features, GramTargets(features, [sample], list(weights), weights, prefix="texture")
    features, targets = seen[prior.view_scale]
    scale = side / max(final)
    at_scale = sample if scale == 1 else resize(sample, scale=scale)
    strokes = StrokeTargets(at_scale) if prior.strokes else None
    sample_tv = luminance_grain(at_scale).detach() if prior.sample_tv else None
    x0 = (initial_image(torch.empty(1, 3, *shape, device=sample.device), "noise", seed, noise_std=0.2)
          if previous is None else enlarge(previous, shape))
    options = {"parameterization": "luminance"} if last and prior.final_luminance else {}
    options = {**options, "margin": prior.canvas} if prior.canvas else options
    return texture_loss(features, targets, prior, sample, prior.colour, strokes, sample_tv), prior.extend(x0), options


def _texture_layers(backbone: Backbone, layers, layer_weights) -> dict[str, float]:
    """{layer: weight}: the layers (None: the backbone's texture layers) checked, with their weights."""
    layers = check_layers(layers, "layers") if layers is not None else list(backbone.defaults.texture_layers)
    for layer in layers:
        backbone.layer_index(layer)
    layer_weights = check_layer_weights(layer_weights, layers, "layer_weights")
    return dict(zip(layers, layer_weights or [1.0] * len(layers)))
