"""Feature inversion (Mahendran & Vedaldi, CVPR 2015): which image has these features?

    x* = argmin_x ||Φ(x) − Φ0||² / ||Φ0||² + λ R_V^β(x)

Φ0 are the features of the original image at one layer, and R_V^β is the total-variation prior of
`losses.tv_loss`. Reconstructions from shallow layers are near copies; from deep layers only the
layout survives, because the network has traded colour and texture for invariance.
"""
from __future__ import annotations

import torch

from .losses import feature_reconstruction_loss, tv_loss
from .models import Backbone, load_backbone
from .optimize import Result, optimize_image


def initial_image(like: torch.Tensor, init: str | torch.Tensor, seed: int | None = None,
                  noise_std: float = 0.1) -> torch.Tensor:
    """Starting image with the shape of `like` (1, 3, H, W): "noise" (grey plus Gaussian noise of
    `noise_std`), "uniform" (uniform noise in [0, 1]), "grey", or a given tensor."""
    if isinstance(init, torch.Tensor):
        return init.detach().to(like.device).float().clamp(0, 1)
    gen = torch.Generator().manual_seed(0 if seed is None else seed)
    if init == "noise":
        return (0.5 + noise_std * torch.randn(like.shape, generator=gen)).clamp(0, 1).to(like.device)
    if init == "uniform":
        return torch.rand(like.shape, generator=gen).to(like.device)
    if init == "grey":
        return torch.full_like(like, 0.5)
    raise ValueError(f"init must be 'noise', 'uniform', 'grey' or a tensor, not {init!r}")


def inversion_loss(backbone: Backbone, layer: str, target: torch.Tensor, tv_weight: float,
                   tv_beta: float):
    """Loss function image -> {"features", "tv"} for `optimize_image`."""
    def loss_fn(x: torch.Tensor) -> dict:
        phi = backbone.features(x, layer)[layer]
        return {"features": feature_reconstruction_loss(phi, target),
                "tv": tv_weight * tv_loss(x, beta=tv_beta)}
    return loss_fn


def invert_features(image: torch.Tensor, backbone: Backbone | str | None = None, layer: str | None = None,
                    steps: int = 300, tv_weight: float = 10.0, tv_beta: float = 2.0, init="noise",
                    optimizer: str = "adam", lr: float | None = 0.05, seed: int | None = 0,
                    progress: bool = True, snapshots=(), callback=None, should_stop=None) -> Result:
    """Reconstruct `image` (1, 3, H, W) in [0, 1] from its features at `layer`.

    Args:
        layer: the layer to invert (None: the deepest of backbone.defaults.inversion_layers).
        tv_weight, tv_beta: λ and β of the TV prior.
        init: "noise" (grey plus noise), "uniform", "grey" or a tensor.
        optimizer, lr: Adam with lr 0.05, decayed to 0 on a cosine schedule, is reliable; "lbfgs" also
            works with a strong prior.
    Returns a Result whose image is the reconstruction; result.config["psnr"] compares it to `image`.
    """
    backbone = load_backbone(backbone)
    layer = layer or backbone.defaults.inversion_layers[-1]
    backbone.layer_index(layer)
    device = backbone.mean.device
    image = image.to(device).float()
    with torch.no_grad():
        target = backbone.features(image, layer)[layer]
    x0 = initial_image(image, init, seed)
    result = optimize_image(inversion_loss(backbone, layer, target, tv_weight, tv_beta), x0,
                            optimizer=optimizer, steps=steps, lr=lr, progress=progress,
                            snapshots=snapshots, desc=f"inverting {layer}", callback=callback,
                            schedule="cosine" if optimizer != "lbfgs" else None,
                            should_stop=should_stop)
    result.config.update(layer=layer, tv_weight=tv_weight, tv_beta=tv_beta, init=str(init)[:20],
                         seed=seed, mse=pixel_mse(result.image, image), psnr=psnr(result.image, image))
    return result


def pixel_mse(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared pixel difference of two images in [0, 1]."""
    return float((x.float().cpu() - y.float().cpu()).pow(2).mean())


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in [0, 1] (higher is closer)."""
    return float(-10.0 * torch.log10(torch.tensor(max(pixel_mse(x, y), 1e-12))))
