"""Colour operations: YIQ, histogram matching, and the two colour-preservation methods of
Gatys, Bethge, Hertzmann & Shechtman (2016), "Preserving Color in Neural Artistic Style Transfer".

Images are (1, 3, H, W) with values in [0, 1].
"""
from __future__ import annotations

import torch

_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                            [0.595716, -0.274453, -0.321263],
                            [0.211456, -0.522591, 0.311135]])


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> YIQ (Y, the luminance, in [0, 1]; I and Q, the chrominance)."""
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YIQ.to(x), x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of `rgb_to_yiq` (not clamped)."""
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_YIQ).to(x), x)


def luminance_transfer(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the luminance Y of `stylized` and the chrominance I, Q of `content` (same size)."""
    y = rgb_to_yiq(stylized)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    return yiq_to_rgb(torch.cat([y, iq], 1)).clamp(0, 1)


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
