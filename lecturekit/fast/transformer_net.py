"""Johnson et al.'s image transformation network (ECCV 2016), with a choice of normalization.

Only the model lives here. Layout (width w, input 3xHxW):
  9x9 conv (w) -> 3x3 stride-2 conv (2w) -> 3x3 stride-2 conv (4w) -> 5 residual blocks (4w)
  -> nearest-neighbour x2 + 3x3 conv (2w) -> nearest x2 + 3x3 conv (w) -> 9x9 conv (3) -> sigmoid.
Upsampling by nearest neighbour then convolution avoids the checkerboard artefacts of transposed
convolutions (Odena et al. 2016). Reflection padding avoids dark borders. The sigmoid keeps the output
in [0, 1] (Johnson et al. bound theirs with a scaled tanh): with an unbounded output, a short training
learns to paint saturated, out-of-range blobs that the loss network rewards.

Normalization (`norm`):
  - "batch": BatchNorm, as in Johnson et al.;
  - "instance": InstanceNorm (Ulyanov et al. 2016): per image and channel, contrast normalization;
  - "conditional": conditional instance norm (Dumoulin et al. 2017): one (γ, β) row per style, mixed by
    convex weights, so one network paints `n_styles` styles and blends between them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register, style_weights

NORMS = ("instance", "batch", "conditional")


def style_names(styles, n_styles: int, norm: str) -> list[str]:
    """The nets' checks of their norm and styles (one error before any layer is built); the styles' names
    (given, or "style 0", "style 1", ...)."""
    names = [str(s) for s in styles] if styles else [f"style {i}" for i in range(n_styles)]
    if len(names) != n_styles:
        raise ValueError(f"{len(names)} style names for a net of {n_styles} styles")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, not {norm!r}")
    if norm != "conditional" and n_styles != 1:
        raise ValueError("n_styles > 1 needs norm='conditional'")
    return names


class ConditionalInstanceNorm2d(nn.Module):
    """Instance norm whose scale and shift are chosen per style: γ = wᵀΓ, β = wᵀB.

    Γ, B: (n_styles, C). w: (N, n_styles) convex style weights, one row per image.
    """

    def __init__(self, channels: int, n_styles: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.gamma = nn.Parameter(torch.ones(n_styles, channels))
        self.beta = nn.Parameter(torch.zeros(n_styles, channels))

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        g = (style_weights @ self.gamma)[:, :, None, None]
        b = (style_weights @ self.beta)[:, :, None, None]
        return self.norm(x) * g + b


class Norm(nn.Module):
    """The chosen normalization; takes the style weights and ignores them unless conditional."""

    def __init__(self, kind: str, channels: int, n_styles: int):
        super().__init__()
        self.kind = kind
        if kind == "instance":
            self.layer = nn.InstanceNorm2d(channels, affine=True)
        elif kind == "batch":
            self.layer = nn.BatchNorm2d(channels, affine=True)
        else:
            self.layer = ConditionalInstanceNorm2d(channels, n_styles)

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor | None) -> torch.Tensor:
        return self.layer(x, style_weights) if self.kind == "conditional" else self.layer(x)


class ConvNormAct(nn.Module):
    """Reflection pad, conv, norm, optional ReLU; optional nearest-neighbour upsampling first."""

    def __init__(self, c_in, c_out, kernel, stride=1, norm="instance", n_styles=1, relu=True, upsample=1):
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride)
        self.norm = Norm(norm, c_out, n_styles)
        self.relu = relu

    def forward(self, x, w=None):
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        x = self.norm(self.conv(self.pad(x)), w)
        return F.relu(x) if self.relu else x


class ResidualBlock(nn.Module):
    """x + norm(conv(relu(norm(conv(x)))))."""

    def __init__(self, channels, norm, n_styles):
        super().__init__()
        self.a = ConvNormAct(channels, channels, 3, norm=norm, n_styles=n_styles)
        self.b = ConvNormAct(channels, channels, 3, norm=norm, n_styles=n_styles, relu=False)

    def forward(self, x, w=None):
        return x + self.b(self.a(x, w), w)


class TransformerNet(nn.Module):
    """(N, 3, H, W) in [0, 1] -> stylized (N, 3, H, W) in (0, 1); H and W should be multiples of 4.

    Args:
        norm: "instance", "batch" or "conditional".
        n_styles: number of styles (conditional norm only; 1 otherwise).
        width: channels of the first layer (Johnson: 32; 16 is 4x cheaper and ships here).
        styles: the names of the styles it paints (part of its config, so they travel with it).
    Call as net(x) or, for conditional nets, net(x, style) with style an index, a {index: weight}
    dict or an (N, n_styles) weight tensor.
    """

    def __init__(self, norm: str = "instance", n_styles: int = 1, width: int = 32, styles=None):
        super().__init__()
        self.styles = style_names(styles, n_styles, norm)
        self.norm_kind, self.n_styles, self.width = norm, n_styles, width
        w, kw = width, dict(norm=norm, n_styles=n_styles)
        self.down = nn.ModuleList([ConvNormAct(3, w, 9, **kw), ConvNormAct(w, 2 * w, 3, 2, **kw),
                                   ConvNormAct(2 * w, 4 * w, 3, 2, **kw)])
        self.res = nn.ModuleList([ResidualBlock(4 * w, norm, n_styles) for _ in range(5)])
        self.up = nn.ModuleList([ConvNormAct(4 * w, 2 * w, 3, upsample=2, **kw),
                                 ConvNormAct(2 * w, w, 3, upsample=2, **kw)])
        self.out = nn.Sequential(nn.ReflectionPad2d(4), nn.Conv2d(w, 3, 9))

    @property
    def config(self) -> dict:
        return dict(arch="transformer_net", norm=self.norm_kind, n_styles=self.n_styles, width=self.width,
                    styles=list(self.styles))

    def style_weights(self, style, batch: int, device) -> torch.Tensor | None:
        """Convex weights (batch, n_styles) from an index, a {index: weight} dict or a tensor
        (`registry.style_weights`); None for a net without conditional norm, which ignores them."""
        if self.norm_kind != "conditional":
            return None
        return style_weights(style, self.n_styles, batch, device)

    def forward(self, x: torch.Tensor, style=0, logits: bool = False) -> torch.Tensor:
        """Stylized images; with logits=True the values before the sigmoid (for training penalties)."""
        w = self.style_weights(style, x.shape[0], x.device)
        h = x
        for layer in self.down:
            h = layer(h, w)
        for block in self.res:
            h = block(h, w)
        for layer in self.up:
            h = layer(h, w)
        z = self.out(h)
        return z if logits else torch.sigmoid(z)


register("transformer_net", TransformerNet)
