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
from dataclasses import dataclass

import torch

from . import checks
from .color import luminance_transfer, match_color, match_luminance_stats, rgb_to_yiq
from .images import load_image, resize
from .losses import ContentTargets, GramTargets, l2_activation, summed
from .models import Backbone, load_backbone
from .optimize import INITS, OPTIMIZERS, Result, RunControls, initial_image, optimize_stages
from .precision import autocast, choose
from .prior import ImagePrior, resolve

ORIGINAL_COLORS = (None, "luminance", "histogram")
PRECISIONS = ("auto", "float32", "bfloat16")
POOLINGS = ("max", "avg")
# Learning rates that work for this loss (weights ~1 and 1e3, images in [0, 1]), found by a sweep at
# 64 and 128 px with 30 steps; L-BFGS needs none.
STYLE_LR = {"lbfgs": 1.0, "adam": 0.02, "sgd": 2e-3, "adagrad": 0.05, "rmsprop": 0.005, "adadelta": 10.0}


@dataclass(frozen=True)
class StyleConfig:
    """Every option of a style transfer, validated once; `result.config` is its `asdict`.

    content_weight, style_weight: α and β. tv_weight: the prior's luminance TV (None: the prior's).
    content_layers, style_layers, style_layer_weights, dream_layers: None = the backbone's defaults.
    init: "content", "noise", "style" or a tensor. optimizer, lr, steps: see `optimize_image`.
    size: longest side of the output (None: the content's own size). style_scale: the painting is
    resized to style_scale × the output's longest side. style_blend: weights of several styles.
    original_colors: None, "luminance" or "histogram". multiscale: increasing sizes, `steps` each
    (overrides `size` and the prior's stages). dream_weight: γ of style + DeepDream.
    precision: "float32", "bfloat16" or "auto" (the faster here, measured once: `precision.choose`).
    channels_last: NHWC convolutions (faster with oneDNN), or "auto". prior: see `prior.resolve`.
    """

    content_weight: float = 1.0
    style_weight: float = 1e3
    tv_weight: float | None = None
    content_layers: tuple[str, ...] | None = None
    style_layers: tuple[str, ...] | None = None
    style_layer_weights: tuple[float, ...] | None = None
    init: str = "content"
    optimizer: str = "lbfgs"
    lr: float | None = None
    steps: int = 200
    seed: int | None = 0
    size: int | None = 256
    style_scale: float = 1.0
    style_blend: tuple[float, ...] | None = None
    original_colors: str | None = None
    multiscale: tuple[int, ...] | None = None
    dream_weight: float = 0.0
    dream_layers: tuple[str, ...] | None = None
    pooling: str = "max"
    precision: str = "float32"
    channels_last: bool | str = True
    prior: object = "default"

    def __post_init__(self):
        for name in ("content_layers", "style_layers", "style_layer_weights", "style_blend", "multiscale",
                     "dream_layers"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple([value] if isinstance(value, str) else value))
        checks.check_choice("original_colors", self.original_colors, ORIGINAL_COLORS)
        checks.check_choice("precision", self.precision, PRECISIONS)
        checks.check_choice("channels_last", self.channels_last, (True, False, "auto"))
        checks.check_choice("pooling", self.pooling, POOLINGS)
        checks.check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if not isinstance(self.init, torch.Tensor):
            checks.check_choice("init", self.init, INITS)
        resolve(self.prior, "style")  # a prior's bad name or field fails here, before any work
        checks.check_steps(self.steps)
        checks.check_size(self.size)
        for name in ("content_weight", "style_weight", "tv_weight", "dream_weight"):
            if getattr(self, name) is not None:
                checks.check_weight(name, getattr(self, name))
        checks.check_positive("style_scale", self.style_scale)
        if self.multiscale is not None:
            checks.check_multiscale(self.multiscale)
        if self.lr is not None:
            checks.check_positive("lr", self.lr)

    def with_backbone(self, backbone: Backbone, n_styles: int) -> "StyleConfig":
        """This config with every None layer choice filled from `backbone.defaults`, checked."""
        d = backbone.defaults
        style_layers = tuple(self.style_layers or d.style_layers)
        layer_weights = self.style_layer_weights
        if layer_weights is None and self.style_layers is None and d.style_layer_weights:
            layer_weights = tuple(d.style_layer_weights)
        layer_weights = tuple(layer_weights or [1.0] * len(style_layers))
        checks.check_layer_weights(layer_weights, style_layers)
        cfg = dataclasses.replace(
            self, content_layers=tuple(self.content_layers or d.content_layers), style_layers=style_layers,
            style_layer_weights=layer_weights, style_blend=tuple(checks.check_blend(self.style_blend, n_styles)),
            dream_layers=tuple(self.dream_layers or (d.dream_layers if self.dream_weight else ())))
        for layer in [*cfg.content_layers, *cfg.style_layers, *cfg.dream_layers]:
            backbone.layer_index(layer)
        return cfg

    def plan(self, prior: ImagePrior, native: int) -> tuple[list[int], list[int]]:
        """Sizes (longest sides) and steps of the coarse-to-fine stages."""
        if self.multiscale:
            return list(self.multiscale), [self.steps] * len(self.multiscale)
        sizes = prior.stage_sizes(self.size or native)
        return sizes, prior.stage_steps(self.steps, len(sizes))


def style_transfer(content, style, *, backbone: Backbone | str | None = None, progress: bool = True,
                   callback=None, should_stop=None, snapshots=(), **options) -> Result:
    """Paint `content` in the style of `style` (one image or a list, blended).

    content, style: any image source (path, URL, registered name, tensor (1, 3, H, W) in [0, 1], ...).
    options: the fields of `StyleConfig` (style_weight=1e3, steps=200, size=256, prior="default", ...).
    progress, callback, should_stop, snapshots: the run controls (see `optimize.RunControls`).
    Returns a Result (1, 3, H, W) in [0, 1]; result.config holds every option and the seed.
    """
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
    sizes, steps = cfg.plan(prior, max(content.shape[-2:]))
    checks.check_resized_side(content.shape, sizes[0], "content")
    precision, nhwc = choose(backbone, list(cfg.style_layers), round(sizes[-1] * prior.view_scale),
                             cfg.precision, cfg.channels_last)
    cfg = dataclasses.replace(cfg, precision=precision, channels_last=nhwc)
    start = time.perf_counter()
    with _channels_last(backbone) if cfg.channels_last else contextlib.nullcontext():
        result = optimize_stages(lambda size, previous: _stage(backbone, cfg, prior, content, styles, size, previous),
                                 sizes, steps, RunControls(progress, callback, should_stop, tuple(snapshots)),
                                 desc="style transfer", optimizer=cfg.optimizer,
                                 lr=STYLE_LR.get(cfg.optimizer) if cfg.lr is None else cfg.lr)
    if cfg.original_colors == "luminance":
        result.image = luminance_transfer(result.image, resize(content, tuple(result.image.shape[-2:])))
    result.seconds = time.perf_counter() - start
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()
              if not isinstance(v, torch.Tensor)}
    result.config = {**result.config, **config, "prior": dataclasses.asdict(prior), "backbone": backbone.name,
                     "sizes": sizes, "stage_steps": steps}
    return result


def _stage(backbone: Backbone, cfg: StyleConfig, prior: ImagePrior, content: torch.Tensor,
           styles: list[torch.Tensor], size: int, previous: torch.Tensor | None):
    """Loss function and starting image of one coarse-to-fine stage at `size` (longest side)."""
    c = resize(content, size)
    styles = _prepare_styles(styles, c, cfg.style_scale, cfg.original_colors)
    if cfg.original_colors == "luminance":
        c = _luminance_image(c)
        styles = [match_luminance_stats(_luminance_image(s), c).clamp(0, 1) for s in styles]
    features = _features_fn(backbone, cfg, prior)
    content_terms = ContentTargets(features, c, list(cfg.content_layers))
    style_terms = GramTargets(features, styles, list(cfg.style_layers),
                              dict(zip(cfg.style_layers, cfg.style_layer_weights)), list(cfg.style_blend))
    if previous is None:
        x0 = initial_image(c, cfg.init, cfg.seed, content=c, style=styles[0])
    else:
        x0 = resize(previous, tuple(c.shape[-2:]))
        x0 = _luminance_image(x0) if cfg.original_colors == "luminance" else x0
    return style_loss_fn(features, content_terms, style_terms, prior, cfg), x0.contiguous()


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
                  cfg: StyleConfig):
    """Loss image -> {"content", "style", "tv", "tv_chroma", "dream", "style:<layer>", "content:<layer>"}."""
    layers = list(dict.fromkeys([*content_terms.layers, *style_terms.layers, *cfg.dream_layers]))

    def loss_fn(x: torch.Tensor) -> dict:
        feats = features(x, layers)
        terms = {**content_terms.terms(feats, cfg.content_weight), **style_terms.terms(feats, cfg.style_weight)}
        out = {"content": summed(terms, "content"), "style": summed(terms, "style"), **prior.penalty(x)}
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


def _luminance_image(x: torch.Tensor) -> torch.Tensor:
    """The Y channel of (1, 3, H, W), repeated into 3 grey channels."""
    return rgb_to_yiq(x)[:, :1].clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


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
