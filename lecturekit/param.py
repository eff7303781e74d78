"""Parameterizations: the image as a function of the numbers the optimizer changes.

`optimize_image(..., parameterization=...)` optimizes `param.params` and evaluates the loss on
`param.image()`; the loop knows nothing else about them. Three come with the package:

- `Pixels` (the default): the parameters are the pixels themselves, kept in range by clamping after
  every step. Every lesson uses it.
- `Fourier`: the image is sigmoid(C · irfft2(s ⊙ S)), with S the optimized spectrum of a
  "decorrelated" image, s a 1/frequency scale and C a fixed 3×3 colour mix (the square root of the
  colour correlation of ImageNet photos). Equal steps on S then change low frequencies and the
  common colour directions as much as fine detail, which is the preconditioning of feature
  visualization (Olah, Mordvintsev & Schubert, "Feature Visualization", Distill 2017; lucid/lucent).
  The sigmoid keeps every pixel in (0, 1), so there is nothing to clamp.
- `Luminance`: only the luminance Y changes; the two chroma channels stay those of `init`. Style
  transfer's last, full-size stage uses it (`prior.final_luminance`): the strokes' light and dark are
  refined at full size while the colours, formed in the coarse stages, cannot turn into colour speckle.

A parameterization is any callable `init (1, 3, H, W) in [0, 1] -> object` with `.params` (the tensors to
optimize, requiring grad), `.image()` (the current image, differentiable) and `.project(clamp)` (called
without grad after every step). All start exactly at `init` (Fourier up to its sigmoid's open range).
"""
from __future__ import annotations

import torch

# The square root of the colour correlation of ImageNet photos (Olah et al.'s "color_correlation_svd_sqrt"):
# a column per decorrelated channel. Scaled so that its largest column has norm 1.
_COLOUR_SQRT = torch.tensor([[0.26, 0.09, 0.02],
                             [0.27, 0.00, -0.05],
                             [0.27, -0.09, 0.03]])
COLOUR_MIX = _COLOUR_SQRT / _COLOUR_SQRT.norm(dim=0).max()


class Pixels:
    """The image is the parameter (clamped to `clamp` after every step)."""

    def __init__(self, init: torch.Tensor):
        # a dense copy: L-BFGS flattens its parameters, which needs them contiguous
        self.pixels = init.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
        self.params = [self.pixels]

    def image(self) -> torch.Tensor:
        return self.pixels

    @torch.no_grad()
    def project(self, clamp: tuple[float, float] | None) -> None:
        if clamp is not None:
            self.pixels.clamp_(*clamp)


class Fourier:
    """A decorrelated Fourier parameterization of (1, 3, H, W): colour-mixed, 1/f-scaled spectrum.

    decay: the exponent of the 1/frequency scale (1 as in lucid); the lowest frequency used for the
    scale is 1/max(H, W), so the constant term is scaled like the coarsest wave.
    """

    def __init__(self, init: torch.Tensor, decay: float = 1.0, eps: float = 1e-3):
        h, w = init.shape[-2:]
        self.size = (h, w)
        fy = torch.fft.fftfreq(h, device=init.device)[:, None]
        fx = torch.fft.rfftfreq(w, device=init.device)[None, :]
        self.scale = 1.0 / (fy**2 + fx**2).sqrt().clamp_min(1.0 / max(h, w)) ** decay
        self.mix = COLOUR_MIX.to(init.device)
        logits = torch.logit(init.detach().float().clamp(eps, 1 - eps))
        decorrelated = torch.einsum("ij,njhw->nihw", torch.linalg.inv(self.mix), logits)
        spectrum = torch.fft.rfft2(decorrelated, norm="ortho") / self.scale
        self.spectrum = torch.view_as_real(spectrum).contiguous().requires_grad_(True)
        self.params = [self.spectrum]

    def image(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        decorrelated = torch.fft.irfft2(spectrum, s=self.size, norm="ortho")
        return torch.sigmoid(torch.einsum("ij,njhw->nihw", self.mix, decorrelated))

    def project(self, clamp) -> None:
        """Nothing to do: the sigmoid keeps the image in (0, 1)."""


class Luminance:
    """The luminance Y of (1, 3, H, W) is the parameter; the chroma (B − Y, R − Y) stays that of `init`.

    image() is the RGB image of (Y, fixed chroma), clamped to [0, 1]; Y is kept in [0, 1] after every step.
    A grey init stays grey (its chroma is 0).
    """

    def __init__(self, init: torch.Tensor):
        from .color import rgb_to_ycc
        ycc = rgb_to_ycc(init.detach().float())
        self.luminance = ycc[:, :1].clone(memory_format=torch.contiguous_format).requires_grad_(True)
        self.chroma = ycc[:, 1:].clone()
        self.params = [self.luminance]

    def image(self) -> torch.Tensor:
        from .color import ycc_to_rgb
        return ycc_to_rgb(torch.cat([self.luminance, self.chroma], 1)).clamp(0, 1)

    @torch.no_grad()
    def project(self, clamp: tuple[float, float] | None) -> None:
        self.luminance.clamp_(0, 1)


PARAMETERIZATIONS = {"pixels": Pixels, "fourier": Fourier, "luminance": Luminance}


def make(parameterization, init: torch.Tensor):
    """The parameterization named "pixels", "fourier" or "luminance", or a callable init -> parameterization."""
    if callable(parameterization):
        return parameterization(init)
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(f"parameterization must be one of {', '.join(PARAMETERIZATIONS)} or a callable, "
                         f"not {parameterization!r}")
    return PARAMETERIZATIONS[parameterization](init)
