"""The loss terms of the lessons, as small functions of tensors.

Shapes: feature maps are (N, C, H, W); images are (N, 3, H, W) with values in [0, 1].
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

GRAM_NORMALIZATIONS = (None, "hw", "chw", "gatys")


def gram_matrix(features: torch.Tensor, normalize: str | None = "hw") -> torch.Tensor:
    """G = F Fᵀ for F the (C, HW) reshaping of each feature map: (N, C, H, W) -> (N, C, C).

    G[c, d] = Σ_positions F[c, p] F[d, p] says how strongly channels c and d fire together, with the
    spatial layout thrown away. Normalizations:
      - None: the plain sum Σ_p.
      - "hw": divided by HW, i.e. the average over positions of the outer product f_p f_pᵀ (default).
      - "chw": divided by C·HW, which also evens out layers of different widths.
      - "gatys": divided by 2·C·HW, so that ||G − A||² equals Gatys et al.'s
        E_l = 1/(4 N_l² M_l²) Σ (G − A)² with N_l = C filters and M_l = HW positions.
    Computed in float32 when the features are bfloat16 or float16.
    """
    if normalize not in GRAM_NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {GRAM_NORMALIZATIONS}, not {normalize!r}")
    n, c, h, w = features.shape
    g = _Gram.apply(features.float() if features.dtype in (torch.bfloat16, torch.float16) else features)
    scale = {None: 1.0, "hw": h * w, "chw": c * h * w, "gatys": 2.0 * c * h * w}[normalize]
    return g / scale


def _positions(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """F as a view without copying: (N, HW, C) for an NHWC tensor (True), else (N, C, HW) (False)."""
    n, c, h, w = x.shape
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return x.permute(0, 2, 3, 1).reshape(n, h * w, c), True
    return x.reshape(n, c, h * w), False


class _Gram(torch.autograd.Function):
    """F Fᵀ with a one-product backward: G is symmetric, so dL/dF = (dG + dGᵀ) F.

    Autograd would compute two products and add them, and copy an NHWC feature map to NCHW first;
    this is 3-4x faster on the stem's 32 x 192 x 256 features, which matters in every style step.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        f, nhwc = _positions(x)
        ctx.save_for_backward(x)
        return torch.bmm(f.transpose(1, 2), f) if nhwc else torch.bmm(f, f.transpose(1, 2))

    @staticmethod
    def backward(ctx, dg: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        f, nhwc = _positions(x)
        sym = dg + dg.transpose(1, 2)
        n, c, h, w = x.shape
        if nhwc:
            return torch.bmm(f, sym).reshape(n, h, w, c).permute(0, 3, 1, 2)
        return torch.bmm(sym, f).reshape(n, c, h, w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of two feature maps of the same shape (Gatys's content term, averaged)."""
    return (features.float() - target.float()).pow(2).mean()


def gram_loss(gram: torch.Tensor, target: torch.Tensor, scale: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Σ (G − A)² / scale over the (N, C, C) Gram matrices.

    With gram_matrix(..., normalize="gatys") and scale 1 this is exactly Gatys's E_l. Passing
    scale = Σ A² makes every layer's term start near 1, so that layers of very different magnitudes
    (as in EfficientNet) weigh alike.
    """
    return (gram - target).pow(2).sum() / scale


TV_REFERENCE_SIDE = 256  # TV is measured in units of 1/256 of the image side: the same weight at any size


def total_variation(x: torch.Tensor, beta: float = 2.0, eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor]:
    """The one total variation: (luminance TV, chroma TV) of (N, 3, H, W) in [0, 1].

    The image is split into luminance Y and chroma (B − Y, R − Y) by `color.rgb_to_ycc`. For each part
        TV^β = mean |Δx|^β + mean |Δy|^β,   Δ measured per 1/256 of the image's longest side,
    Δx over the H·(W−1) horizontal neighbours, Δy over the (H−1)·W vertical ones, averaged over the
    channels too; the unit (side/256 per pixel step) makes a weight mean the same at every image size.
    β = 2 is the smooth quadratic prior that every lesson's `tv_weight` (and the image prior) uses;
    β < 2 is Mahendran & Vedaldi's TV^β of the inversion lesson, which lets edges stay sharp (eps keeps
    its gradient finite where a difference is 0).
    """
    from .color import rgb_to_ycc
    ycc = rgb_to_ycc(x)
    unit = max(x.shape[-2:]) / TV_REFERENCE_SIDE
    return _tv(ycc[:, :1], beta, eps) * unit**beta, _tv(ycc[:, 1:], beta, eps) * unit**beta


def _tv(x: torch.Tensor, beta: float, eps: float) -> torch.Tensor:
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    if beta == 2.0:
        return dx.pow(2).mean() + dy.pow(2).mean()
    return (dx.pow(2) + eps).pow(beta / 2).mean() + (dy.pow(2) + eps).pow(beta / 2).mean()


def tv_terms(x: torch.Tensor, weight: float, chroma_weight: float, beta: float = 2.0,
             name: str = "tv") -> dict[str, torch.Tensor]:
    """{name: weight · luminance TV^β, name + "_chroma": chroma_weight · chroma TV^β}, only the terms
    with a weight: the TV terms of every lesson (the prior, inversion's λ R^β, fast-style training)."""
    if not (weight or chroma_weight):
        return {}
    lum, chroma = total_variation(x, beta)
    out = {}
    if weight:
        out[name] = weight * lum
    if chroma_weight:
        out[name + "_chroma"] = chroma_weight * chroma
    return out


def luminance_grain(x: torch.Tensor) -> torch.Tensor:
    """(2,): the fine grain of the luminance of (1, 3, H, W) in [0, 1] per pixel step, not per 1/256 of the
    side (comparable between a sample and a larger texture made at the sample's scale):

    [0] the mean squared central difference (Y[i+1] − Y[i−1]) / 2 along x and y: detail 2 px wide and wider,
        the grain a loss network sees through the 2x view; it is blind to a 1 px checkerboard or stripe;
    [1] the mean squared difference of neighbours (the luminance TV of `total_variation`, β = 2): every
        detail down to single pixels.
    """
    from .color import rgb_to_ycc
    y = rgb_to_ycc(x)[:, :1]
    dx, dy = (y[..., :, 2:] - y[..., :, :-2]) / 2, (y[..., 2:, :] - y[..., :-2, :]) / 2
    central = dx.pow(2).mean() + dy.pow(2).mean()
    return torch.stack([central, _tv(y, 2.0, 0.0)])


def relative_tv_loss(x: torch.Tensor, target_grain: torch.Tensor) -> torch.Tensor:
    """How far the fine grain of x (1, 3, H, W) in [0, 1] is from a target's (`luminance_grain` of a texture
    sample at x's scale): log²(central TV ratio), in either direction, plus log²(neighbour TV ratio) where x
    has more single-pixel detail than the target, not less. 0 at the target's grain; twice as grainy is as
    far as half.

    A fixed TV weight smooths every picture alike: a texture of a sample with sharp planes came out softer
    than it, one of a smooth sample grainier. Measured against the sample's own TV, the same weight sharpens
    the first and smooths the second. The two-sided part sees only detail 2 px wide and wider, so it sharpens
    with what the network sees, not with 1 px checkerboards (the neighbour TV, matched both ways, did: a
    blind review found hatching on five of seven textures); the one-sided part keeps single-pixel grain at
    or under the sample's."""
    ratio = torch.log(luminance_grain(x).clamp_min(1e-10) / target_grain.to(x.device).clamp_min(1e-10))
    return ratio[0].pow(2) + ratio[1].clamp_min(0).pow(2)


def resample_sorted(t: torch.Tensor, n: int) -> torch.Tensor:
    """Sorted values (..., M) at n points along the last axis (linearly interpolated quantiles)."""
    if t.shape[-1] == n:
        return t
    out = F.interpolate(t.reshape(1, -1, t.shape[-1]), size=n, mode="linear", align_corners=True)
    return out.reshape(*t.shape[:-1], n)


def mix_sorted(parts: list[torch.Tensor], weights: list[float]) -> torch.Tensor:
    """The sorted values (..., M_i) of several distributions pooled in the proportions `weights` (a mixture):
    each resampled to a share of max M_i points, joined and sorted along the last axis."""
    n, total = max(t.shape[-1] for t in parts), sum(weights)
    shares = [resample_sorted(t, max(1, round(n * w / total))) for t, w in zip(parts, weights)]
    return torch.cat(shares, -1).sort(-1).values


# The two chroma axes B − Y and R − Y as directions of RGB (columns): a tint counts in their projections alone,
# where in an RGB axis or a random direction it hides under the spread of the light and dark.
CHROMA_AXES = torch.tensor([[-0.299, 0.701], [-0.587, -0.587], [0.886, -0.114]])


class ColourTargets:
    """The colours of a target image as a distribution, for `colour_distribution_loss`; built once per size.

    target: (1, 3, h, w) in [0, 1]. Its blur×blur patch colours (a local mean, so that the loss compares
    the colours of small patches and cannot be met by pixel-level speckle) are projected onto `directions`
    fixed unit vectors of RGB (the three axes, the two chroma axes B − Y and R − Y, so that a faint tint on a
    grey painting counts, and pseudo-random ones) and sorted, once. stride: the patches
    are taken every `stride` pixels (stride 2 with blur 6 sorts a quarter of the colours and still covers
    every pixel by the same number of patches, 3 × 3, so that no grid is painted).
    """

    def __init__(self, target: torch.Tensor, blur: int = 5, directions: int = 8, stride: int = 1):
        self.blur, self.stride = blur, stride
        g = torch.Generator().manual_seed(0)
        d = torch.cat([torch.eye(3), CHROMA_AXES, torch.randn(3, max(0, directions - 5), generator=g)], 1)[:, :directions]
        self.directions = (d / d.norm(dim=0, keepdim=True)).to(target.device, target.dtype)
        with torch.no_grad():
            self.sorted = self.projections(target).sort(dim=1).values          # (K, M)
        self._resampled: dict[int, torch.Tensor] = {}

    @classmethod
    def mixture(cls, targets: list[torch.Tensor], weights: list[float], blur: int = 5, directions: int = 8,
                stride: int = 1) -> "ColourTargets":
        """The patch colours of several images mixed in the proportions `weights` (a blend of paintings, as
        the blended Gram target Σ b_i G_i is a mixture): each image's sorted projections are resampled to a
        share of the points proportional to its weight, pooled and sorted again. Images of weight 0 are left out."""
        parts = [(cls(t, blur, directions, stride), w) for t, w in zip(targets, weights) if w > 0]
        mixed = parts[0][0]
        if len(parts) > 1:
            mixed.sorted = mix_sorted([c.sorted for c, _ in parts], [w for _, w in parts])
        return mixed

    def projections(self, x: torch.Tensor) -> torch.Tensor:
        """(K, P): the colours of the P patches of (1, 3, H, W) (H·W at stride 1) projected on the directions."""
        b, s = self.blur, self.stride
        x = F.avg_pool2d(x, b, stride=s, padding=b // 2, count_include_pad=False) if b > 1 or s > 1 else x
        return (x[0].reshape(3, -1).t() @ self.directions).t()

    def quantiles(self, n: int) -> torch.Tensor:
        """The target's sorted projections at n points (linearly interpolated; cached per n)."""
        if n not in self._resampled:
            self._resampled[n] = resample_sorted(self.sorted, n)
        return self._resampled[n]

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """The sliced Wasserstein distance of x's patch colours to the target's (see the module function)."""
        ours = self.projections(x).sort(dim=1).values
        return (ours - self.quantiles(ours.shape[1])).pow(2).mean()


def colour_distribution_loss(x: torch.Tensor, target: torch.Tensor, blur: int = 5, directions: int = 8) -> torch.Tensor:
    """How far the colours of x are from those of target, as distributions (where they are does not count).

    x, target: (1, 3, H, W) and (1, 3, h, w) in [0, 1], any sizes. Both are first averaged over blur×blur
    neighbourhoods (stride 1), so that the loss compares the colours of small patches and cannot be met by
    pixel-level speckle; then the sliced Wasserstein distance (Risser, Wilmot & Barnes 2017 match histograms
    per channel; this is the same idea in a cheap form): the colours are projected onto `directions` fixed
    unit vectors in RGB (the three axes and random ones), each projection sorted, and the squared
    differences of the sorted values averaged (the target's quantiles interpolated to x's pixel count).
    In a loop over one target, build `ColourTargets(target)` once and call its `.loss(x)`.
    """
    return ColourTargets(target, blur, directions).loss(x)


STROKE_SIGMAS = (1.0, 2.0, 4.0, 8.0)  # px: the bands 2-4, 4-8 and 8-16 px wide, a painting's brush strokes


def stroke_bands(x: torch.Tensor, sigmas: tuple[float, ...] = STROKE_SIGMAS) -> list[torch.Tensor]:
    """The band-pass images of the luminance of (1, 3, H, W) in [0, 1], flattened, one per band.

    Band k is the difference of Gaussian blurs of widths sigmas[k] and sigmas[k + 1] (px), a level of a
    Laplacian pyramid without the subsampling: the light and dark of strokes of about that width. All
    bands come from one FFT of the reflect-padded luminance. A band whose finer width sigmas[k] is at
    least 1 px is then averaged over blocks of max(2, sigmas[k]) px, a quarter or less of its values, which
    loses nothing of a band that wide; a finer band keeps every pixel.
    """
    from .color import rgb_to_ycc
    y = rgb_to_ycc(x.float())[:, :1]
    pad = min(16, y.shape[-2] - 1, y.shape[-1] - 1)
    y = F.pad(y, (pad, pad, pad, pad), mode="reflect")
    h, w = y.shape[-2:]
    f2 = (torch.fft.fftfreq(h, device=y.device)[:, None] ** 2 + torch.fft.rfftfreq(w, device=y.device)[None] ** 2)
    blurs = [torch.exp(-2 * (torch.pi * s) ** 2 * f2) for s in sigmas]  # the Gaussians' transfer functions
    spectrum = torch.fft.rfft2(y)
    out = []
    for k, (fine, coarse) in enumerate(zip(blurs[:-1], blurs[1:])):
        band = torch.fft.irfft2(spectrum * (fine - coarse), s=(h, w))[..., pad:h - pad, pad:w - pad]
        pool = 1 if sigmas[k] < 1 else max(2, int(sigmas[k]))
        out.append(F.avg_pool2d(band, pool, ceil_mode=True).flatten() if pool > 1 else band.flatten())
    return out


class StrokeTargets:
    """The stroke statistics of a target image (a painting, a texture sample), for `stroke_distribution_loss`.

    target: (1, 3, h, w) in [0, 1], at the size its strokes should have. The values of each band of
    `stroke_bands` are sorted once; a picture's loss is, per band, the squared distance of its sorted
    band values to the target's quantiles (a 1-D Wasserstein distance), divided by the target band's
    energy, averaged over the bands: 0 when every band has the painting's histogram.
    """

    def __init__(self, target: torch.Tensor, sigmas: tuple[float, ...] = STROKE_SIGMAS):
        self.sigmas = tuple(sigmas)
        with torch.no_grad():
            self.sorted = [b.sort().values for b in stroke_bands(target, self.sigmas)]
        self.energy = [t.pow(2).mean().clamp_min(1e-12) for t in self.sorted]
        self._resampled: dict[tuple[int, int], torch.Tensor] = {}

    @classmethod
    def mixture(cls, targets: list[torch.Tensor], weights: list[float],
                sigmas: tuple[float, ...] = STROKE_SIGMAS) -> "StrokeTargets":
        """The strokes of several images mixed in the proportions `weights` (as `ColourTargets.mixture`):
        per band, each image's sorted values resampled to a share of the points, pooled and sorted again."""
        parts = [(cls(t, sigmas), w) for t, w in zip(targets, weights) if w > 0]
        mixed = parts[0][0]
        if len(parts) > 1:
            mixed.sorted = [mix_sorted([p.sorted[k] for p, _ in parts], [w for _, w in parts])
                            for k in range(len(mixed.sorted))]
            mixed.energy = [t.pow(2).mean().clamp_min(1e-12) for t in mixed.sorted]
        return mixed

    def quantiles(self, band: int, n: int) -> torch.Tensor:
        """Band `band`'s sorted values at n points (linearly interpolated; cached)."""
        if (band, n) not in self._resampled:
            self._resampled[band, n] = resample_sorted(self.sorted[band], n)
        return self._resampled[band, n]

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """How far the strokes of x (1, 3, H, W) are from the target's, as distributions (a scalar)."""
        bands = stroke_bands(x, self.sigmas)
        terms = [(b.sort().values - self.quantiles(k, b.numel())).pow(2).mean() / e
                 for k, (b, e) in enumerate(zip(bands, self.energy))]
        return sum(terms) / len(terms)


def stroke_distribution_loss(x: torch.Tensor, target: torch.Tensor,
                             sigmas: tuple[float, ...] = STROKE_SIGMAS) -> torch.Tensor:
    """How far the brush strokes of x are from those of target, as distributions (where they are does not count).

    x, target: (1, 3, H, W) and (1, 3, h, w) in [0, 1]. The luminance of each is split into the bands of
    a Laplacian pyramid (`stroke_bands`), and the histogram of each band of x is compared with the
    target's, as Heeger & Bergen's pyramid texture synthesis (SIGGRAPH 1995) matches them: strokes as
    light and as dark, as wide and as frequent as the painting's, wherever they are. The Gram terms of a
    loss network do not pin this down; the prior adds it. In a loop, build `StrokeTargets(target)` once.
    """
    return StrokeTargets(target, sigmas).loss(x)


def feature_reconstruction_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """||Φ(x) − Φ0||² / ||Φ0||²: Mahendran & Vedaldi's normalized inversion loss."""
    return (features.float() - target.float()).pow(2).sum() / target.float().pow(2).sum().clamp_min(1e-12)


def l2_activation(features: torch.Tensor) -> torch.Tensor:
    """DeepDream's objective: the mean of the squared activations h², to be maximized."""
    return features.float().pow(2).mean()


Features = Callable[[torch.Tensor, list[str]], dict]


class GramTargets:
    """The Gram style term, written once for style transfer, texture synthesis and fast-style training.

    Args:
        features: (images (N, 3, H, W) in [0, 1], layers) -> {layer: (N, C, h, w)}; the same function
            (backbone, pooling, prior view) must later give the features passed to `terms`.
        images: the style images, each (1, 3, h, w) in [0, 1] at the size wanted.
        layers: the layers whose Gram matrices are matched.
        weights: {layer: w_l} (None: 1 each).
        blend: convex weights of the images; the target is Σ_i b_i Gram(image_i) (None: equal).
        prefix: name of the terms, "style" or "texture".
    Each layer's term is w_l Σ(G − A)² / ΣA², averaged over the batch, so that layers of very
    different magnitudes weigh alike and every term starts near w_l from a blank image.
    """

    def __init__(self, features: Features, images: list[torch.Tensor], layers: list[str],
                 weights: dict[str, float] | None = None, blend: list[float] | None = None,
                 prefix: str = "style"):
        blend = blend or [1.0 / len(images)] * len(images)
        with torch.no_grad():
            grams = [{k: gram_matrix(v, "hw") for k, v in features(im, list(layers)).items()} for im in images]
        self.layers, self.prefix = list(layers), prefix
        self.weights = {k: 1.0 for k in layers} if weights is None else dict(weights)
        self.grams = {k: sum(b * g[k] for b, g in zip(blend, grams)) for k in layers}
        self.scales = {k: a.pow(2).sum().clamp_min(1e-12) for k, a in self.grams.items()}

    def terms(self, feats: dict[str, torch.Tensor], weight: float = 1.0) -> dict[str, torch.Tensor]:
        """{"<prefix>:<layer>": weight · w_l · E_l} for the features of a batch (N, C, h, w)."""
        out = {}
        for k, a in self.grams.items():
            n = feats[k].shape[0]
            e = gram_loss(gram_matrix(feats[k], "hw"), a.expand(n, -1, -1), self.scales[k] * n)
            out[f"{self.prefix}:{k}"] = weight * self.weights[k] * e
        return out


class ContentTargets:
    """The content term: features of `image` at `layers`, and their mean squared distance.

    image: (N, 3, H, W) in [0, 1]; terms(feats) gives {"content:<layer>": weight · mean (F − P)²}.
    """

    def __init__(self, features: Features, image: torch.Tensor, layers: list[str], prefix: str = "content"):
        with torch.no_grad():
            self.targets = {k: v.float() for k, v in features(image, list(layers)).items()}
        self.layers, self.prefix = list(layers), prefix

    def terms(self, feats: dict[str, torch.Tensor], weight: float = 1.0) -> dict[str, torch.Tensor]:
        return {f"{self.prefix}:{k}": weight * content_loss(feats[k], t) for k, t in self.targets.items()}


def summed(terms: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    """The sum of the detail terms "<prefix>:<layer>" (0 when there are none)."""
    parts = [v for k, v in terms.items() if k.startswith(prefix + ":")]
    return sum(parts) if parts else torch.zeros(())
