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
INITS = ("noise", "uniform", "grey", "content", "matched", "style")
ORIGINAL_COLORS = (None, "luminance", "histogram")
PRECISIONS = ("auto", "float32", "bfloat16")
POOLINGS = ("max", "avg")

@dataclass(frozen=True)
class StyleConfig:
    """Every option of a style transfer, validated once; `result.config` is its `asdict`.

    content_weight, style_weight: α and β. tv_weight: the prior's luminance TV (None: the prior's).
    content_layers, style_layers, style_layer_weights, dream_layers: None = the backbone's defaults (the
        content: `BackboneDefaults.gatys_content_layers`).
    init: "matched" (the photo in the painting's colours: each channel's histogram matched to the
        painting's, or to the paintings' pooled in the blend's proportions), "content", "noise", "style" or
        a tensor. optimizer, lr, steps: see `optimize_image`.
    size: longest side of the output (None: the content's own size). style_scale: the painting is
    resized to style_scale × the output's longest side. style_blend: weights of several styles.
    original_colors: None, "luminance" or "histogram". multiscale: increasing sizes, `steps` each
    (overrides `size` and the prior's stages). dream_weight: γ of style + DeepDream.
    precision: "float32", "bfloat16" or "auto" (the faster here, measured once: `precision.choose`).
    channels_last: NHWC convolutions (faster with oneDNN), or "auto". prior: see `prior.resolve`.
    colour_weight: weight of the painting's palette, `losses.colour_distribution_loss` on 6 × 6 patches
    (every 2nd pixel) against the painting as the Gram targets see it (style_scale × the stage's size,
    colour-matched for original_colors); None: the prior's `colour` (30 000 in the default prior, 0 in
    "plain"); 0: off; blended styles: the mixture of their colours in the blend's proportions.
    stroke_weight: weight of the painting's strokes, `losses.stroke_distribution_loss` (the histograms of a
    Laplacian pyramid of the luminance) against the painting as the Gram targets see it; None: the prior's
    `strokes` (1 000 in the default prior, 0 in "plain"); 0: off; blended styles: the mixture of their
    strokes in the blend's proportions.
    """

    content_weight: float = 1.0
    style_weight: float = 1e3
    tv_weight: float | None = None
    content_layers: tuple[str, ...] | None = None
    style_layers: tuple[str, ...] | None = None
    style_layer_weights: tuple[float, ...] | None = None
    init: str = "matched"
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
    colour_weight: float | None = None
    stroke_weight: float | None = None

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
        for name in ("content_weight", "style_weight", "tv_weight", "dream_weight", "colour_weight",
                     "stroke_weight"):
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
            self, content_layers=tuple(self.content_layers or d.gatys_content_layers), style_layers=style_layers,
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


DREAM_OBJECTIVES = ("l2", "channel", "guided")


@dataclass(frozen=True)
class DreamConfig:
    """Every option of a DeepDream, validated once; `result.config` is its `asdict` (with the backbone).

    layers: a layer name, a list (equal weights) or {layer: weight}; None = backbone.defaults.dream_layers.
    steps: gradient-ascent steps per octave. step_size: mean change per pixel per step, in units of the
    0..255 scale (1.5 as in google/deepdream). jitter: largest random shift in pixels (0: off); it is
    the prior's jitter (`prior.jitter`). octaves, octave_scale: pyramid levels and their size ratio.
    objective: "l2" (mean h² of the layers), "channel" (mean activation of `channel` of the layers) or
    "guided" (match the features of a guide image). clip: keep pixels in [0, 1] after every step.
    seed: fixes the jitter offsets (None: a new dream every run). tile_size: images (as the net sees
    them) larger than this are processed in tiles (at least 64; None: never); 1024 keeps a 512 px photo,
    seen at 1024 px through the prior's 2x view, in one piece. prior: see `prior.resolve`.
    """

    layers: tuple[str, ...] | None = None
    steps: int = 10
    step_size: float = 1.5
    jitter: int = 32
    octaves: int = 4
    octave_scale: float = 1.4
    objective: str = "l2"
    channel: int | None = None
    clip: bool = True
    seed: int | None = 0
    tile_size: int | None = 1024
    prior: object = "default"

    def __post_init__(self):
        if isinstance(self.layers, str):
            object.__setattr__(self, "layers", (self.layers,))
        elif isinstance(self.layers, dict):
            if not self.layers:
                raise checks.ParameterError("layers must name at least one layer; got an empty dict")
        elif self.layers is not None:
            object.__setattr__(self, "layers", tuple(checks.check_layers(self.layers, "layers")))
        checks.check_steps(self.steps)
        checks.check_steps(self.octaves, "octaves")
        checks.check_positive("step_size", self.step_size)
        checks.check_range("octave_scale", self.octave_scale, minimum=1.0)
        checks.check_range("jitter", self.jitter, minimum=0, integer=True)
        if self.tile_size is not None:
            checks.check_range("tile_size", self.tile_size, minimum=64, integer=True)
        checks.check_choice("objective", self.objective, DREAM_OBJECTIVES)
        if self.objective == "channel" and self.channel is None:
            raise checks.ParameterError("objective='channel' needs channel=<index>")
        if self.prior not in ("default", "plain", None):
            from .prior import resolve
            resolve(self.prior, "dream")


FAST_NORMS = ("instance", "batch", "conditional")


@dataclass(frozen=True)
class TrainConfig:
    """The options of one fast-style training, validated once; saved with the net.

    steps, batch_size, size (crop side), lr: Adam's budget. content_weight, style_weight, tv_weight,
    saturation_weight: the loss (`fast.loss.perceptual_loss` + `saturation_penalty`, which keeps the
    pre-sigmoid outputs within ±4: without it a short training learns to paint fully saturated blobs).
    tv_weight weighs the package's one total variation (`losses.total_variation`, luminance and chroma),
    as in every lesson; its default 0.8 smooths about as much as the weight 1 on the RGB total variation
    used before, at the default 256 px crops (measured on tubingen and the shipped nets' outputs: the old
    TV was 0.65-0.92 × the new one); chroma_tv_weight weighs the chroma part on its own (None: tv_weight).
    style_size: the painting's longest side for its Gram targets (None: the crop size `size`; a larger
    one paints larger strokes, for pictures shown bigger than the crops). arch: a registered architecture (`fast.registry`); norm, width: its
    options (for the TransformerNet more than one style forces norm "conditional"). checkpoint_path, checkpoint_every:
    a resumable checkpoint. style_names: the styles' names.
    """

    steps: int = 1000
    batch_size: int = 4
    size: int = 256
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 0.8
    chroma_tv_weight: float | None = None
    saturation_weight: float = 1.0
    style_size: int | None = None
    lr: float = 1e-3
    seed: int = 0
    arch: str = "transformer_net"
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
        if self.chroma_tv_weight is not None:
            checks.check_weight("chroma_tv_weight", self.chroma_tv_weight)
        checks.check_size(self.style_size, "style_size", allow_none=True)
        checks.check_positive("lr", self.lr)
        checks.check_range("width", self.width, minimum=1, maximum=512, integer=True)
        checks.check_choice("norm", self.norm, FAST_NORMS)
        if self.checkpoint_every is not None:
            checks.check_steps(self.checkpoint_every, "checkpoint_every")
        for name in ("content_layers", "style_layers", "style_names"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.checkpoint_path is not None:  # a folder, a read-only file or a file in its path: said now
            object.__setattr__(self, "checkpoint_path", str(checks.check_writable(self.checkpoint_path,
                                                                                   "the checkpoint")))
