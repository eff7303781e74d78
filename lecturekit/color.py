"""Colour operations: the one colour conversion (luminance and chroma), histogram matching, and the two
colour-preservation methods of Gatys, Bethge, Hertzmann & Shechtman (2016), "Preserving Color in Neural
Artistic Style Transfer".

Images are (1, 3, H, W) with values in [0, 1]. Every part of the package that separates luminance from
colour (the prior's total variation, luminance-only style transfer) goes through `rgb_to_ycc`.
"""
from __future__ import annotations

import torch

# Rec. 601 luma weights: Y = 0.299 R + 0.587 G + 0.114 B.
LUMA = (0.299, 0.587, 0.114)


def rgb_to_ycc(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, 3, H, W) of the luminance Y (in [0, 1]) and the two colour
    differences B − Y and R − Y (the chroma, 0 on greys)."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    y = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b
    return torch.cat([y, b - y, r - y], 1)


def ycc_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of `rgb_to_ycc` (not clamped)."""
    y, cb, cr = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    r, b = cr + y, cb + y
    g = (y - LUMA[0] * r - LUMA[2] * b) / LUMA[1]
    return torch.cat([r, g, b], 1)


def luminance_transfer(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the luminance Y of `stylized` and the chroma (B − Y, R − Y) of `content` (same size)."""
    y = rgb_to_ycc(stylized)[:, :1]
    chroma = rgb_to_ycc(content)[:, 1:]
    return ycc_to_rgb(torch.cat([y, chroma], 1)).clamp(0, 1)


def match_luminance_stats(luma: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Shift and scale luminance (N, 1, H, W) to the mean and std of `reference`'s luminance."""
    return (luma - luma.mean()) / (luma.std() + 1e-8) * reference.std() + reference.mean()


def match_histogram(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-channel exact histogram matching: source's pixel values are replaced, in rank order, by the
    quantiles of reference's values. Shapes (1, 3, H, W) and (1, 3, h, w); sizes may differ."""
    out = torch.empty_like(source)
    for c in range(source.shape[1]):
        src = source[0, c].flatten()
        ref = reference[0, c].flatten().sort().values
        order = src.argsort()
        idx = torch.linspace(0, ref.numel() - 1, src.numel(), device=src.device).round().long()
        flat = torch.empty_like(src)
        flat[order] = ref[idx]
        out[0, c] = flat.view_as(source[0, c])
    return out


def match_color(style: torch.Tensor, content: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Linear colour transfer: a 3x3 map and shift give `style` the mean and covariance of the content's
    RGB colours (Cholesky variant of Gatys et al. 2016, section 2.2). Returns the recoloured style."""
    from .losses import gram_matrix

    def stats(x):
        p = x[0].flatten(1)
        mu = p.mean(1, keepdim=True)
        centred = (p - mu)[None, :, :, None]  # the covariance is the Gram matrix of the centred colours
        cov = gram_matrix(centred)[0] + eps * torch.eye(3, device=x.device)
        return p, mu, cov
    ps, mus, covs = stats(style)
    _, muc, covc = stats(content)
    a = torch.linalg.cholesky(covc) @ torch.linalg.inv(torch.linalg.cholesky(covs))
    out = a @ (ps - mus) + muc
    return out.view_as(style[0])[None].clamp(0, 1)
