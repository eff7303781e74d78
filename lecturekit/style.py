"""Neural style transfer (Gatys, Ecker & Bethge, CVPR 2016) and the variants of the lecture.

    L(x) = α Σ_l∈C ||F_l(x) − F_l(p)||²  +  β Σ_l∈S w_l E_l(x, a)  +  λ_TV R_V(x)  [− γ Σ_l∈D mean h_l²]

content p, style a, E_l the Gram-matrix distance at layer l (see `losses`). Targets (content features,
style Grams) are computed once; the network runs only up to the deepest layer used.
Variants: several styles blended, style scale, colour preservation (Gatys, Bethge, Hertzmann &
Shechtman 2016), coarse-to-fine multi-scale, and style + DeepDream.
"""
from __future__ import annotations

import contextlib
import time

import torch

from .color import luminance_transfer, match_color, match_luminance_stats, rgb_to_yiq
from .images import resize
from .inversion import initial_image
from .losses import content_loss, gram_loss, gram_matrix, l2_activation, tv_loss
from .models import Backbone, load_backbone
from .optimize import Result, optimize_image

ORIGINAL_COLORS = (None, "luminance", "histogram")
PRECISIONS = ("auto", "float32", "bfloat16")
# Learning rates that work for this loss (weights ~1 and 1e3, images in [0, 1]), found by a sweep at
# 64 and 128 px with 30 steps; L-BFGS needs none.
STYLE_LR = {"lbfgs": 1.0, "adam": 0.02, "sgd": 2e-3, "adagrad": 0.05, "rmsprop": 0.005, "adadelta": 10.0}


def blend_weights(n_styles: int, style_blend=None) -> list[float]:
    """Validated convex weights for `n_styles` styles: non-negative, summing to 1 (None: equal)."""
    if style_blend is None:
        return [1.0 / n_styles] * n_styles
    w = [float(b) for b in style_blend]
    if len(w) != n_styles:
        raise ValueError(f"style_blend has {len(w)} weights for {n_styles} styles")
    if any(b < 0 for b in w) or sum(w) <= 0:
        raise ValueError(f"style_blend weights must be >= 0 with a positive sum, got {w}")
    return [b / sum(w) for b in w]


def bf16_supported(device: torch.device) -> bool:
    """Whether bfloat16 autocast is worth it here: CUDA with bf16, or a CPU with AMX tiles.

    AVX512-BF16 alone is not enough: on such a 2-core CPU, bench/style_bench.py measured a VGG-19 and an
    EfficientNet-Lite0 step 1.4-1.5x *slower* in bfloat16 than in float32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_flag("amx_bf16")
    return False


def _cpu_flag(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return flag in f.read()
    except OSError:
        return False


def _autocast(device: torch.device, precision: str):
    use = precision == "bfloat16" or (precision == "auto" and bf16_supported(device))
    if not use:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _luminance_image(x: torch.Tensor) -> torch.Tensor:
    """The Y channel of (1, 3, H, W), repeated into 3 grey channels."""
    return rgb_to_yiq(x)[:, :1].clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


class StyleTargets:
    """Content features and blended style Grams, computed once per size."""

    def __init__(self, backbone: Backbone, content: torch.Tensor, styles: list[torch.Tensor],
                 blend: list[float], content_layers: list[str], style_layers: list[str], pooling: str):
        with torch.no_grad():
            self.content = {k: v.float() for k, v in
                            backbone.features(content, content_layers, pooling=pooling).items()}
            grams = []
            for s in styles:
                f = backbone.features(s, style_layers, pooling=pooling)
                grams.append({layer: gram_matrix(f[layer], "hw") for layer in style_layers})
        self.grams = {layer: sum(b * g[layer] for b, g in zip(blend, grams)) for layer in style_layers}
        self.scales = {layer: g.pow(2).sum().clamp_min(1e-12) for layer, g in self.grams.items()}


def style_loss_fn(backbone: Backbone, targets: StyleTargets, content_weight: float, style_weight: float,
                  tv_weight: float, layer_weights: dict[str, float], dream_weight: float = 0.0,
                  dream_layers: list[str] = (), pooling: str = "max", precision: str = "float32",
                  channels_last: bool = False):
    """Loss image -> {"content", "style", "tv", "dream", "style:<layer>", "content:<layer>"}.

    The pixels stay a dense NCHW tensor (L-BFGS needs that); with channels_last the network sees an
    NHWC copy."""
    device = targets.grams[next(iter(targets.grams))].device
    layers = list(dict.fromkeys([*targets.content, *targets.grams, *dream_layers]))

    def loss_fn(x: torch.Tensor) -> dict:
        with _autocast(device, precision):
            net_in = x.contiguous(memory_format=torch.channels_last) if channels_last else x
            feats = backbone.features(net_in, layers, pooling=pooling)
        terms = {f"content:{k}": content_weight * content_loss(feats[k], t) for k, t in targets.content.items()}
        terms.update({f"style:{k}": style_weight * layer_weights[k] *
                      gram_loss(gram_matrix(feats[k], "hw"), a, targets.scales[k]) for k, a in targets.grams.items()})
        out = {"content": sum(v for k, v in terms.items() if k.startswith("content:")),
               "style": sum(v for k, v in terms.items() if k.startswith("style:"))}
        if tv_weight:
            out["tv"] = tv_weight * tv_loss(x)
        if dream_weight:
            out["dream"] = -dream_weight * sum(l2_activation(feats[k]) for k in dream_layers)
        return {**out, **terms}
    return loss_fn


def _prepare_styles(style, content: torch.Tensor, style_scale: float, original_colors) -> list[torch.Tensor]:
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    size = max(1, round(max(content.shape[-2:]) * style_scale))
    out = []
    for s in styles:
        s = resize(s.float().to(content.device), size)
        if original_colors == "histogram":
            s = match_color(s, content)
        out.append(s)
    return out


def style_transfer(content: torch.Tensor, style, *, backbone: Backbone | str | None = None,
                   content_weight: float = 1.0, style_weight: float = 1e3, tv_weight: float = 0.0,
                   content_layers=None, style_layers=None, style_layer_weights=None, init="content",
                   optimizer: str = "lbfgs", lr: float | None = None, steps: int = 200, seed: int | None = 0,
                   size: int | None = 256, style_scale: float = 1.0, style_blend=None, original_colors=None,
                   multiscale=None, dream_weight: float = 0.0, dream_layers=None, snapshots=(),
                   pooling: str = "max", precision: str = "float32", channels_last: bool = False,
                   progress: bool = True, callback=None, should_stop=None) -> Result:
    """Paint `content` (1, 3, H, W) in [0, 1] in the style of `style` (one image or a list).

    Args:
        content_weight, style_weight, tv_weight: α, β and the TV weight.
        content_layers, style_layers, style_layer_weights: None = the backbone's defaults.
        init: "content", "noise", "style" or a tensor. optimizer, lr, steps: see `optimize_image`.
        size: longest side of the output (None: the content's own size).
        style_scale: the style image is resized to style_scale × the output's longest side.
        style_blend: weights of several styles; the target is the weighted average of their Grams.
        original_colors: None; "luminance" (transfer on luminance only, then put back the content's
            chrominance in YIQ); "histogram" (first give the style the content's colour statistics).
        multiscale: increasing sizes, e.g. [128, 256, 512]: each stage starts from the upsampled
            result of the last (steps per stage); overrides `size`.
        dream_weight, dream_layers: also maximize mean h² at dream_layers (style + DeepDream).
        snapshots: steps at which to keep the image.
        precision: "float32"; "bfloat16" runs the network under bfloat16 autocast (Gram matrices and
            losses stay float32); "auto" picks bfloat16 where it is faster (CUDA; a CPU with AMX).
        channels_last: run the convolutions in NHWC memory layout (faster with oneDNN and on GPUs).
    Returns a Result; result.config holds every option and the seed.
    """
    if original_colors not in ORIGINAL_COLORS:
        raise ValueError(f"original_colors must be one of {ORIGINAL_COLORS}, not {original_colors!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    config = {k: v for k, v in locals().items() if k not in ("content", "style", "backbone", "callback",
                                                              "should_stop", "init") or k == "init" and isinstance(v, str)}
    backbone = load_backbone(backbone)
    d = backbone.defaults
    content_layers = list(content_layers or d.content_layers)
    style_layers = list(style_layers or d.style_layers)
    layer_weights = dict(zip(style_layers, style_layer_weights or [1.0] * len(style_layers)))
    dream_layers = list(dream_layers or (d.dream_layers if dream_weight else []))
    for layer in [*content_layers, *style_layers, *dream_layers]:
        backbone.layer_index(layer)
    n_styles = len(style) if isinstance(style, (list, tuple)) else 1
    blend = blend_weights(n_styles, style_blend)
    device = backbone.mean.device
    content = content.to(device).float()
    sizes = list(multiscale) if multiscale else [size]
    full_content = content
    start = time.perf_counter()
    stage_args = (style, style_scale, original_colors, blend, content_layers, style_layers, pooling, init, seed,
                  (content_weight, style_weight, tv_weight, dream_weight), layer_weights, dream_layers, precision,
                  channels_last)
    run_args = dict(optimizer=optimizer, steps=steps, lr=STYLE_LR.get(optimizer) if lr is None else lr,
                    snapshots=snapshots, progress=progress, callback=callback, should_stop=should_stop)
    result, x = None, None
    with _channels_last(backbone) if channels_last else contextlib.nullcontext():
        for s in sizes:
            loss_fn, x0 = _stage(backbone, full_content, s, x, *stage_args)
            r = optimize_image(loss_fn, x0, **run_args,
                               desc=f"style {s or ''}px" if len(sizes) > 1 else "style transfer")
            result = r if result is None else _concat(result, r)
            x = result.image = r.image.contiguous()
            if r.stopped:
                break
    if original_colors == "luminance":
        result.image = luminance_transfer(result.image, resize(full_content, tuple(result.image.shape[-2:])))
    result.seconds = time.perf_counter() - start
    result.config.update(config)
    result.config.update(content_layers=content_layers, style_layers=style_layers, style_blend=blend,
                         backbone=backbone.name, sizes=sizes)
    return result


@contextlib.contextmanager
def _channels_last(backbone: Backbone):
    """Temporarily store the backbone's weights in NHWC layout."""
    backbone.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        backbone.to(memory_format=torch.contiguous_format)


def _stage(backbone, full_content, size, previous, style, style_scale, original_colors, blend, content_layers,
           style_layers, pooling, init, seed, weights, layer_weights, dream_layers, precision, channels_last):
    """Targets, loss function and starting image of one (multi-scale) stage at `size`."""
    c = resize(full_content, size) if size else full_content
    styles = _prepare_styles(style, c, style_scale, original_colors)
    c_in = c
    if original_colors == "luminance":
        c_in = _luminance_image(c)
        styles = [match_luminance_stats(_luminance_image(st), c_in).clamp(0, 1) for st in styles]
    targets = StyleTargets(backbone, c_in, styles, blend, content_layers, style_layers, pooling)
    if previous is None:
        x0 = _initial(init, c_in, styles[0], seed)
    else:
        x0 = resize(previous, tuple(c_in.shape[-2:]))
        x0 = _luminance_image(x0) if original_colors == "luminance" else x0
    cw, sw, tw, dw = weights
    loss_fn = style_loss_fn(backbone, targets, cw, sw, tw, layer_weights, dw, dream_layers, pooling, precision,
                            channels_last)
    return loss_fn, x0


def _initial(init, content: torch.Tensor, style: torch.Tensor, seed) -> torch.Tensor:
    if isinstance(init, torch.Tensor):
        return resize(init.float().to(content.device), tuple(content.shape[-2:]))
    if init == "content":
        return content.clone()
    if init == "style":
        return resize(style, tuple(content.shape[-2:]))
    if init == "noise":
        return initial_image(content, "uniform", seed)
    raise ValueError(f"init must be 'content', 'noise', 'style' or a tensor, not {init!r}")


def _concat(a: Result, b: Result) -> Result:
    """Join the histories of two multi-scale stages; b's image and snapshots win."""
    for k, v in b.history.items():
        a.history.setdefault(k, []).extend(v)
    offset = a.times[-1] if a.times else 0.0
    a.times.extend(t + offset for t in b.times)
    b.history, b.times, b.steps = a.history, a.times, a.steps + b.steps
    return b
