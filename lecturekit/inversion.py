"""Feature inversion (Mahendran & Vedaldi, CVPR 2015): which image has these features?

    x* = argmin_x ||Φ(x) − Φ0||² / ||Φ0||² + λ R_V^β(x)

Φ0 are the features of the original image at one layer, and R_V^β is the package's one total variation
(`losses.total_variation` with exponent β, on luminance and chroma alike, in units that do not depend on
the image size; β = 2 is the TV that every lesson's tv_weight weighs). The image prior adds its own
chroma TV beside it, under its own names. Reconstructions from shallow layers are near copies; from deep layers only the
layout survives, because the network has traded colour and texture for invariance.
"""
from __future__ import annotations

import torch

import dataclasses

from .checks import check_choice, check_image_size, check_positive, check_snapshots, check_steps, check_weight
from .images import load_image
from .losses import feature_reconstruction_loss, tv_terms
from .models import Backbone, load_backbone
from .optimize import INITS, OPTIMIZERS, Result, RunControls, initial_image, optimize_image  # noqa: F401
from .prior import PLAIN, ImagePrior, resolve


def inversion_loss(backbone: Backbone, layer: str, target: torch.Tensor, tv_weight: float,
                   tv_beta: float, prior: ImagePrior = PLAIN):
    """Loss function image -> {"features", "tv_beta", "tv_beta_chroma", "tv", "tv_chroma"} for `optimize_image`.

    "tv_beta" and "tv_beta_chroma" are the lesson's λ R_V^β (Mahendran & Vedaldi) of the luminance and
    the chroma; "tv" and "tv_chroma" are the prior's own TV terms (only those with a weight)."""
    def loss_fn(x: torch.Tensor) -> dict:
        phi = backbone.features(prior.view(x), layer)[layer]
        return {"features": feature_reconstruction_loss(phi, target),
                **tv_terms(x, tv_weight, tv_weight, tv_beta, name="tv_beta"), **prior.penalty(x)}
    return loss_fn


def layer_stride(image: torch.Tensor, features: torch.Tensor) -> int:
    """How many pixels of `image` (N, 3, H, W) one position of `features` (N, C, h, w) spans."""
    return max(1, round(image.shape[-1] / features.shape[-1]))


def default_prior(stride: int) -> ImagePrior:
    """The inversion prior for a layer of this stride: chroma TV 4 × stride (deep layers, which keep
    little colour information, need more), measured on tubingen at 256 px, 200 Adam steps."""
    return dataclasses.replace(resolve("default", "inversion"), chroma_tv=4.0 * stride)


def default_lr(stride: int) -> float:
    """Adam's step for a layer of this stride: 0.05 up to stride 2, 0.1 deeper (measured likewise)."""
    return 0.05 if stride <= 2 else 0.1


def invert_features(image: torch.Tensor, backbone: Backbone | str | None = None, layer: str | None = None, *,
                    steps: int = 300, tv_weight: float = 10.0, tv_beta: float = 2.0, init="noise",
                    optimizer: str = "adam", lr: float | None = None, seed: int | None = 0,
                    prior="default", controls: RunControls | None = None, **run) -> Result:
    """Reconstruct `image` (1, 3, H, W) in [0, 1] from its features at `layer`.

    Args:
        layer: the layer to invert (None: the deepest of backbone.defaults.inversion_layers).
        tv_weight, tv_beta: λ and β of the TV prior (`losses.total_variation`).
        init: "noise" (grey plus noise), "uniform", "grey" or a tensor.
        optimizer, lr: Adam decayed to 0 on a cosine schedule is reliable (lr None: `default_lr` of the
            layer's stride); "lbfgs" also works with a strong prior.
        prior: "default" (chroma TV of 4 × the layer's stride, see `default_prior`), "plain" (only the
            lesson's TV^β), a dict of overrides or an ImagePrior.
        controls, **run: the run controls (progress=, callback=, should_stop=, snapshots=).
    Returns a Result whose image is the reconstruction; result.config["psnr"] compares it to `image`.
    """
    controls = RunControls.take(run, controls)
    image = _check_inversion(image, steps, tv_weight, tv_beta, lr, optimizer, init, prior, controls)
    backbone = load_backbone(backbone)
    layer = layer or backbone.defaults.inversion_layers[-1]
    backbone.layer_index(layer)
    image = image.to(backbone.mean.device)
    with torch.no_grad():
        target = backbone.features(image, layer)[layer]
    stride = layer_stride(image, target)
    prior = default_prior(stride) if prior == "default" else resolve(prior, "inversion")
    if prior.view_scale != 1.0 or prior.jitter:
        with torch.no_grad():
            target = backbone.features(prior.view(image), layer)[layer]
    lr = (default_lr(stride) if optimizer == "adam" else None) if lr is None else lr
    result = optimize_image(inversion_loss(backbone, layer, target, tv_weight, tv_beta, prior),
                            initial_image(image, init, seed), optimizer=optimizer, steps=steps, lr=lr,
                            desc=f"inverting {layer}", schedule="cosine" if optimizer != "lbfgs" else None,
                            controls=controls)
    result.config.update(layer=layer, tv_weight=tv_weight, tv_beta=tv_beta, init=str(init)[:20], stride=stride,
                         prior=dataclasses.asdict(prior), lr=lr,
                         seed=seed, mse=pixel_mse(result.image, image), psnr=psnr(result.image, image))
    return result.cpu()


def _check_inversion(image, steps, tv_weight, tv_beta, lr, optimizer, init, prior, controls) -> torch.Tensor:
    """The image, loaded; every parameter checked before any work."""
    image = check_image_size(load_image(image), "image")
    check_steps(steps)
    check_weight("tv_weight", tv_weight)
    check_positive("tv_beta", tv_beta)
    check_positive("lr", lr, allow_none=True)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if not isinstance(init, torch.Tensor):
        check_choice("init", init, INITS)
    if prior != "default":
        resolve(prior, "inversion")
    check_snapshots(controls.snapshots, steps)
    return image


def pixel_mse(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared pixel difference of two images in [0, 1]."""
    return float((x.float().cpu() - y.float().cpu()).pow(2).mean())


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in [0, 1] (higher is closer)."""
    return float(-10.0 * torch.log10(torch.tensor(max(pixel_mse(x, y), 1e-12))))
