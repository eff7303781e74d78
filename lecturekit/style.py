"""Neural style transfer (Gatys, Ecker & Bethge, CVPR 2016) and the variants of the lecture.

    L(x) = α Σ_l∈C ||F_l(x) − F_l(p)||²  +  β Σ_l∈S w_l E_l(x, a)  +  prior(x)  [− γ Σ_l∈D mean h_l²]

content p, style a, E_l the Gram-matrix distance at layer l (`losses.GramTargets`), prior the image
prior's TV terms (`prior`). Targets are computed once per stage; the network runs only up to the
deepest layer used. Variants: several styles blended, style scale, colour preservation (Gatys, Bethge,
Hertzmann & Shechtman 2016), coarse-to-fine multi-scale, and style + DeepDream.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time


import torch

from . import checks
from .color import luminance_transfer, match_color, match_luminance_stats, rgb_to_ycc
from .images import enlarge, load_image, resize
from .losses import ColourTargets, ContentTargets, GramTargets, StrokeTargets, l2_activation, summed
from .models import Backbone, load_backbone
from .configs import ORIGINAL_COLORS, POOLINGS, PRECISIONS, StyleConfig  # noqa: F401  (re-exported)
from .optimize import Result, RunControls, initial_image, optimize_stages
from .precision import autocast, choose
from .prior import ImagePrior, resolve

# Learning rates that work for this loss (weights ~1 and 1e3, images in [0, 1]), found by a sweep at
# 64 and 128 px with 30 steps; L-BFGS needs none.
STYLE_LR = {"lbfgs": 1.0, "adam": 0.02, "sgd": 2e-3, "adagrad": 0.05, "rmsprop": 0.005, "adadelta": 10.0}



def style_transfer(content, style, *, backbone: Backbone | str | None = None,
                   controls: RunControls | None = None, **options) -> Result:
    """Paint `content` in the style of `style` (one image or a list, blended).

    content, style: any image source (path, URL, registered name, tensor (1, 3, H, W) in [0, 1], ...).
    options: the fields of `StyleConfig` (style_weight=1e3, steps=200, size=256, prior="default", ...),
    and the run controls (progress=, callback=, should_stop=, snapshots=, or controls=RunControls(...)).
    Returns a Result (1, 3, H, W) in [0, 1]; result.config holds every option and the seed.
    """
    controls = RunControls.take(options, controls)
    if isinstance(options.get("init"), torch.Tensor):
        options["init"] = load_image(options["init"])
    cfg = StyleConfig(**options)
    backbone = load_backbone(backbone)
    device = backbone.mean.device
    content = checks.check_image_size(load_image(content).to(device), "content")
    styles = [checks.check_image_size(load_image(s).to(device), "style")
              for s in (style if isinstance(style, (list, tuple)) else [style])]
    cfg = cfg.with_backbone(backbone, len(styles))
    prior = resolve(cfg.prior, "style")
    if cfg.tv_weight is not None:
        prior = dataclasses.replace(prior, tv=cfg.tv_weight)
    if cfg.colour_weight is not None:
        prior = dataclasses.replace(prior, colour=cfg.colour_weight)
    if cfg.stroke_weight is not None:
        prior = dataclasses.replace(prior, strokes=cfg.stroke_weight)
    sizes, steps = cfg.plan(prior, max(content.shape[-2:]))
    checks.check_resized_side(content.shape, sizes[0], "content")
    precision, nhwc = choose(backbone, list(cfg.style_layers), prior.largest_view(sizes),
                             cfg.precision, cfg.channels_last)
    cfg = dataclasses.replace(cfg, precision=precision, channels_last=nhwc)
    start = time.perf_counter()
    with _channels_last(backbone) if cfg.channels_last else contextlib.nullcontext():
        result = optimize_stages(lambda size, previous: _stage(backbone, cfg, prior, content, styles, size, previous,
                                                               final=len(sizes) > 1 and size == sizes[-1]),
                                 sizes, steps, controls,
                                 desc="style transfer", optimizer=cfg.optimizer,
                                 lr=STYLE_LR.get(cfg.optimizer) if cfg.lr is None else cfg.lr)
    if cfg.original_colors == "luminance":
        result.image = luminance_transfer(result.image, resize(content, tuple(result.image.shape[-2:])))
    result.seconds = time.perf_counter() - start
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()
              if not isinstance(v, torch.Tensor)}
    result.config = {**result.config, **config, "prior": dataclasses.asdict(prior), "backbone": backbone.name,
                     "sizes": sizes, "stage_steps": steps}
    return result.cpu()


def _stage(backbone: Backbone, cfg: StyleConfig, prior: ImagePrior, content: torch.Tensor,
           styles: list[torch.Tensor], size: int, previous: torch.Tensor | None, final: bool = False):
    """Loss function, starting image and options of one coarse-to-fine stage at `size` (longest side).

    final: the last stage after coarser ones (`previous` given): it takes the prior's final view scale
    and, with `prior.final_luminance`, changes the luminance only. With `prior.canvas` the start is the
    picture mirrored outwards, the content target the photo mirrored likewise, and the options say so
    (`margin`)."""
    final = final and previous is not None
    prior = prior.final() if final else prior
    luminance_only = final and prior.final_luminance
    c = resize(content, size)
    styles = _prepare_styles(styles, c, cfg.style_scale, cfg.original_colors)
    if cfg.original_colors == "luminance":
        c = _luminance_image(c)
        styles = [match_luminance_stats(_luminance_image(s), c).clamp(0, 1) for s in styles]
    features = _features_fn(backbone, cfg, prior)
    content_terms = ContentTargets(features, prior.extend(c), list(cfg.content_layers))
    style_terms = GramTargets(features, styles, list(cfg.style_layers),
                              dict(zip(cfg.style_layers, cfg.style_layer_weights)), list(cfg.style_blend))
    if previous is None:
        palette = _pooled(styles, cfg.style_blend) if cfg.init == "matched" else styles[0]
        x0 = initial_image(c, cfg.init, cfg.seed, content=c, style=palette)
    else:
        shape = tuple(c.shape[-2:])  # a luminance-only last stage keeps the colours: enlarged without pixel steps
        x0 = enlarge(previous, shape, chroma_only=True) if luminance_only else resize(previous, shape)
        x0 = _luminance_image(x0) if cfg.original_colors == "luminance" else x0
    colours = ColourTargets.mixture(styles, cfg.style_blend, blur=6, stride=2) if prior.colour else None
    strokes = StrokeTargets.mixture(styles, cfg.style_blend) if prior.strokes else None
    options = {"parameterization": "luminance"} if luminance_only else {}
    options = {**options, "margin": prior.canvas} if prior.canvas else options
    loss_fn = style_loss_fn(features, content_terms, style_terms, prior, cfg, colours, strokes)
    return loss_fn, prior.extend(x0).contiguous(), options



def _features_fn(backbone: Backbone, cfg: StyleConfig, prior: ImagePrior):
    """(images, layers) -> features, as the loss network sees them: through the prior's view, in the
    chosen precision and memory layout. Targets and the optimized image both go through it."""
    device = backbone.mean.device

    def features(x: torch.Tensor, layers: list[str]) -> dict:
        with autocast(device, cfg.precision):
            v = prior.view(x)
            v = v.contiguous(memory_format=torch.channels_last) if cfg.channels_last else v
            return backbone.features(v, layers, pooling=cfg.pooling)
    return features


def style_loss_fn(features, content_terms: ContentTargets, style_terms: GramTargets, prior: ImagePrior,
                  cfg: StyleConfig, colours: ColourTargets | None = None, strokes: StrokeTargets | None = None):
    """Loss image -> {"content", "style", "tv", "tv_chroma", "colour", "strokes", "dream", "style:<layer>",
    "content:<layer>"}.

    colours: the paintings' patch colours, mixed like the blend (`ColourTargets.mixture`); required when
    the prior has a colour weight. strokes: the painting's `StrokeTargets`; required when the prior has a
    strokes weight."""
    if prior.colour and colours is None:
        raise ValueError("the prior has a colour weight: pass the paintings' ColourTargets as `colours`")
    if prior.strokes and strokes is None:
        raise ValueError("the prior has a strokes weight: pass the painting's StrokeTargets as `strokes`")
    layers = list(dict.fromkeys([*content_terms.layers, *style_terms.layers, *cfg.dream_layers]))

    def loss_fn(x: torch.Tensor) -> dict:
        feats = features(x, layers)
        terms = {**content_terms.terms(feats, cfg.content_weight), **style_terms.terms(feats, cfg.style_weight)}
        out = {"content": summed(terms, "content"), "style": summed(terms, "style"), **prior.penalty(x)}
        if colours is not None and prior.colour:
            out["colour"] = prior.colour * colours.loss(x)
        if strokes is not None and prior.strokes:
            out["strokes"] = prior.strokes * strokes.loss(x)
        if cfg.dream_weight:
            out["dream"] = -cfg.dream_weight * sum(l2_activation(feats[k]) for k in cfg.dream_layers)
        return {**out, **terms}
    return loss_fn


def _prepare_styles(styles: list[torch.Tensor], content: torch.Tensor, style_scale: float,
                    original_colors) -> list[torch.Tensor]:
    """The paintings at style_scale × the content's longest side (colour-matched for "histogram")."""
    size = max(16, round(max(content.shape[-2:]) * style_scale))
    out = [resize(s, size) for s in styles]
    return [match_color(s, content) for s in out] if original_colors == "histogram" else out


def _pooled(styles: list[torch.Tensor], blend) -> torch.Tensor:
    """The paintings' pixels pooled in the blend's proportions, per channel, as a (1, 3, 1, M) image (one
    painting: itself): the colours that init="matched" gives the photo."""
    if len(styles) == 1:
        return styles[0]
    from .losses import mix_sorted
    return mix_sorted([s.flatten(2).sort(-1).values for s in styles], list(blend))[:, :, None, :]


def _luminance_image(x: torch.Tensor) -> torch.Tensor:
    """The Y channel of (1, 3, H, W), repeated into 3 grey channels."""
    return rgb_to_ycc(x)[:, :1].clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def blend_weights(n_styles: int, style_blend=None) -> list[float]:
    """Validated convex weights for `n_styles` styles (None: equal); see `checks.check_blend`."""
    return checks.check_blend(style_blend, n_styles)


@contextlib.contextmanager
def _channels_last(backbone: Backbone):
    """Temporarily store the backbone's weights in NHWC layout."""
    backbone.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        backbone.to(memory_format=torch.contiguous_format)
