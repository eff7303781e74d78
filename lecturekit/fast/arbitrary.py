"""Arbitrary style in one pass (Ghiasi, Lee, Kudlur, Dumoulin & Shlens 2017), and AdaIN (Huang &
Belongie 2017), the same idea without a prediction network.

Conditional instance norm (Dumoulin 2017) stores one (γ, β) row per style in every norm of the network,
so it paints only the styles it was trained on. Ghiasi et al. replace the table by a second network:

    painting (256 px) --StylePredictor (MobileNetV2)--> style vector S (100 numbers)
    photo --ArbitraryTransformer--> at every norm: γ = A·S + a, β = B·S + b --> stylized photo

so any painting gives a style, and two styles can be mixed by mixing their vectors. AdaIN takes the
scale and shift straight from the painting's features: adain(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y).

The weights are Magenta's release (Apache-2.0), converted once by `tools/convert_magenta.py` and stored
as int8 with a per-channel scale (they were trained quantization-aware, so these are their exact
values); see assets/magenta/NOTICE.md.
"""
from __future__ import annotations

import functools
from importlib import resources

import torch
import torch.nn.functional as F
from torch import nn

STYLE_SIZE = 256  # the predictor was trained on 256x256 paintings
STYLE_DIM = 100
WORK_SIZE = 384  # the transformer was trained on photos of about this size
EPS = 1e-5
ASSETS = resources.files("lecturekit") / "assets" / "magenta"

# MobileNetV2 (Sandler et al. 2018): (expansion t, channels c, repeats n, first stride s) per stage.
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))


def channel_stats(x: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel mean and standard deviation of (N, C, H, W): two (N, C, 1, 1) tensors."""
    mean = x.mean((2, 3), keepdim=True)
    return mean, ((x - mean).pow(2).mean((2, 3), keepdim=True) + eps).sqrt()


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Adaptive instance norm of features (N, C, H, W): the content's layout with the style's per-channel
    mean and standard deviation, σ(y)·(x − μ(x))/σ(x) + μ(y). The style's H, W may differ."""
    mu_x, sigma_x = channel_stats(content, eps)
    mu_y, sigma_y = channel_stats(style, eps)
    return sigma_y * (content - mu_x) / sigma_x + mu_y


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's "SAME" zero padding (the extra pixel goes right and bottom)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class ConvReLU6(nn.Sequential):
    """TF-SAME conv (optionally depthwise), ReLU6 unless `act` is False."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: bool = True):
        super().__init__()
        self.kernel, self.stride, self.act = kernel, stride, act
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(_same_pad(x, self.kernel, self.stride))
        return F.relu6(x) if self.act else x


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand (×t), 3x3 depthwise, 1x1 linear project; + x when shapes allow."""

    def __init__(self, c_in: int, c_out: int, stride: int, t: int):
        super().__init__()
        hidden = c_in * t
        layers = [ConvReLU6(c_in, hidden)] if t != 1 else []
        layers += [ConvReLU6(hidden, hidden, 3, stride, groups=hidden), ConvReLU6(hidden, c_out, act=False)]
        self.layers = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layers(x)
        return x + y if self.residual else y


class StylePredictor(nn.Module):
    """Painting (N, 3, H, W) in [0, 1] -> style vector (N, 100): MobileNetV2, mean-pooled, 1x1 to 100."""

    def __init__(self):
        super().__init__()
        blocks, c = [ConvReLU6(3, 32, 3, 2)], 32
        for t, c_out, n, s in MOBILENET_V2:
            for i in range(n):
                blocks.append(InvertedResidual(c, c_out, s if i == 0 else 1, t))
                c = c_out
        blocks.append(ConvReLU6(c, 1280))
        self.features = nn.Sequential(*blocks)
        self.bottleneck = nn.Conv2d(1280, STYLE_DIM, 1)

    def forward(self, painting: torch.Tensor) -> torch.Tensor:
        h = self.features(painting).mean((2, 3), keepdim=True)
        return self.bottleneck(h).flatten(1)


class StyleNorm(nn.Module):
    """Instance norm whose γ and β are linear functions of the style vector: γ = A·S + a, β = B·S + b."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Linear(STYLE_DIM, channels)
        self.beta = nn.Linear(STYLE_DIM, channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        mean, std = channel_stats(x)
        return (x - mean) / std * self.gamma(style)[:, :, None, None] + self.beta(style)[:, :, None, None]


class Conv(nn.Module):
    """Nearest upsampling (optional), reflection pad, conv, style norm (optional), activation."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, norm: bool = True,
                 act: str | None = "relu", upsample: int = 1):
        super().__init__()
        self.upsample, self.act = upsample, act
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride)
        self.norm = StyleNorm(c_out) if norm else None

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        x = self.conv(self.pad(x))
        if self.norm is not None:
            x = self.norm(x, style)
        return {"relu": F.relu, "sigmoid": torch.sigmoid, None: lambda v: v}[self.act](x)


class ArbitraryTransformer(nn.Module):
    """Photo (N, 3, H, W) in [0, 1] and style vector (N, 100) -> stylized (N, 3, H, W) in (0, 1).

    Johnson's layout at 8/16/32 channels: three convs down (their batch norm folded into the weights),
    five residual blocks and three convs up, every one after the first three with a StyleNorm.
    H and W should be multiples of 4 (`stylize_arbitrary` pads).
    """

    def __init__(self):
        super().__init__()
        self.contract = nn.ModuleList([Conv(3, 8, 9, norm=False), Conv(8, 16, 3, 2, norm=False),
                                       Conv(16, 32, 3, 2, norm=False)])
        self.res = nn.ModuleList([nn.ModuleList([Conv(32, 32, 3), Conv(32, 32, 3, act=None)]) for _ in range(5)])
        self.expand = nn.ModuleList([Conv(32, 16, 3, upsample=2), Conv(16, 8, 3, upsample=2),
                                     Conv(8, 3, 9, act="sigmoid")])

    def forward(self, photo: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = photo
        for layer in self.contract:
            h = layer(h, style)
        for a, b in self.res:
            h = h + b(a(h, style), style)
        for layer in self.expand:
            h = layer(h, style)
        return h


def _dequantize(stored: dict) -> dict[str, torch.Tensor]:
    """A state dict from the stored file: int8 tensors `k` with per-channel `k.scale` become float32."""
    out = {}
    for k, v in stored.items():
        if k.endswith(".scale"):
            continue
        if v.dtype == torch.int8:
            scale = stored[k + ".scale"].float()
            v = v.float() * scale.reshape(-1, *[1] * (v.dim() - 1))
        out[k] = v.float()
    return out


def _load(module: nn.Module, name: str) -> nn.Module:
    with resources.as_file(ASSETS / f"{name}.pt") as path:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    module.load_state_dict(_dequantize(stored))
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def load_style_predictor() -> StylePredictor:
    """Magenta's trained style-prediction network (2.3 M parameters, stored int8), in eval mode."""
    return _load(StylePredictor(), "arbitrary_predict")


def load_arbitrary_transformer() -> ArbitraryTransformer:
    """Magenta's trained arbitrary-style transformer network (0.2 M parameters), in eval mode."""
    return _load(ArbitraryTransformer(), "arbitrary_transform")


@functools.lru_cache(maxsize=1)
def _nets() -> tuple[StylePredictor, ArbitraryTransformer]:
    return load_style_predictor(), load_arbitrary_transformer()


def square_crop(image: torch.Tensor, size: int = STYLE_SIZE) -> torch.Tensor:
    """The centre square of (N, 3, H, W), resized (antialiased) to size x size: what the predictor saw."""
    h, w = image.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[..., top:top + side, left:left + side]
    return F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def style_vector(painting) -> torch.Tensor:
    """A painting (any image source `lk.load_image` takes) -> its style vector S, (1, 100).

    The predictor sees the painting's centre square at 256 px, as it was trained."""
    from ..checks import check_image_size
    from ..images import load_image
    x = check_image_size(load_image(painting), "painting")
    predictor, _ = _nets()
    with torch.inference_mode():
        return predictor(square_crop(x.float().cpu())).clone()


def stylize_arbitrary(photo, style, strength: float = 1.0, size: int | None = None,
                      work_size: int | None = WORK_SIZE) -> torch.Tensor:
    """Paint `photo` in the style of any painting, in one forward pass: (1, 3, H, W) in [0, 1].

    photo: any image source `lk.load_image` takes. style: a painting (an image source) or a style vector
        (1, 100) from `style_vector`.
    strength in [0, 1]: the vector used is strength·S(painting) + (1 − strength)·S(photo), so 0 gives
        the photo's own style (Ghiasi et al., section 4.4).
    size: longest side of the output (None: the photo's own).
    work_size: the net paints at this longest side, the scale it was trained at, and the picture is
        then enlarged to `size` (bicubic); None paints at full size, with finer, busier strokes.
    """
    from ..checks import check_image_size, check_range, check_size
    from ..images import load_image, resize
    check_range("strength", strength, minimum=0.0, maximum=1.0)
    check_size(size)
    check_size(work_size, "work_size")
    x = check_image_size(load_image(photo, max_size=size), "photo").float().cpu()
    s = style if isinstance(style, torch.Tensor) and style.shape[-1] == STYLE_DIM else style_vector(style)
    s = s.reshape(1, STYLE_DIM).float()
    if strength < 1.0:
        s = strength * s + (1.0 - strength) * style_vector(x)
    small = x if not work_size or max(x.shape[-2:]) <= work_size else resize(x, work_size)
    y = _paint(small, s)
    if y.shape[-2:] != x.shape[-2:]:
        y = F.interpolate(y, size=x.shape[-2:], mode="bicubic", align_corners=False)
    return y.clamp(0, 1)


def _paint(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The transformer on (1, 3, H, W), reflection-padded to a multiple of 4 and cropped back."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect")
    _, transformer = _nets()
    with torch.inference_mode():
        return transformer(padded, s)[..., :h, :w].clone()
