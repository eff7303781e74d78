"""The options of the lessons as frozen dataclasses, importable without torch.

A default lives here once: the API (`lk.style_transfer(**options)`), the command line (whose options
are built from these fields) and the notebooks read it from the same place.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import checks

if TYPE_CHECKING:
    from .models import Backbone
    from .prior import ImagePrior

OPTIMIZERS = ("lbfgs", "adam", "sgd", "adagrad", "adadelta", "rmsprop", "normalized_gd")
INITS = ("noise", "uniform", "grey", "content", "style")
ORIGINAL_COLORS = (None, "luminance", "histogram")
PRECISIONS = ("auto", "float32", "bfloat16")
POOLINGS = ("max", "avg")

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
        if not checks._is_tensor(self.init):
            checks.check_choice("init", self.init, INITS)
        if self.prior not in ("default", "plain", None):
            from .prior import resolve
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

    def with_backbone(self, backbone: "Backbone", n_styles: int) -> "StyleConfig":
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

    def plan(self, prior: "ImagePrior", native: int) -> tuple[list[int], list[int]]:
        """Sizes (longest sides) and steps of the coarse-to-fine stages."""
        if self.multiscale:
            return list(self.multiscale), [self.steps] * len(self.multiscale)
        sizes = prior.stage_sizes(self.size or native)
        return sizes, prior.stage_steps(self.steps, len(sizes))
