"""Backbones: `load_backbone` and the nets behind it."""
from __future__ import annotations

import os

import torch

from ..utils import pick_device, test_backbone
from .backbone import Backbone, BackboneDefaults, UnknownLayerError
from .zoo import BACKBONES, CLASSIC, EMBEDDED, WeightsUnavailableError, build_backbone, download

__all__ = ["Backbone", "BackboneDefaults", "UnknownLayerError", "WeightsUnavailableError", "load_backbone",
           "default_backbone_name", "BACKBONES", "download"]

_CACHE: dict[tuple, Backbone] = {}
_ANNOUNCED = False


def default_backbone_name() -> str:
    """The random-weight test backbone (LECTUREKIT_TEST_BACKBONE) if set; else LECTUREKIT_BACKBONE if set;
    else VGG-19 where CUDA is available, else the embedded EfficientNet-Lite0.

    On 2 CPU cores a 256 px style-transfer step takes ~0.05 s on EfficientNet-Lite0 against ~0.34 s on
    VGG-19, which is why the CPU default is the small net.
    """
    return test_backbone() or os.environ.get("LECTUREKIT_BACKBONE") or (
        "vgg19" if torch.cuda.is_available() else EMBEDDED)


def why(name: str) -> str:
    """One line on why `name` is the backbone in use."""
    if test_backbone():
        return "test mode (LECTUREKIT_TEST_BACKBONE): random weights at small sizes, so the pictures mean nothing"
    if os.environ.get("LECTUREKIT_BACKBONE"):
        return "chosen with the LECTUREKIT_BACKBONE environment variable"
    if name == "vgg19":
        return "a CUDA GPU is available, so the net of the original papers (Gatys, Johnson) runs fast"
    return ("no CUDA GPU here; it is small and fast on a laptop CPU, and its ImageNet weights ship in a pip "
            "package, so it works offline")


def _announce(name: str) -> None:
    global _ANNOUNCED
    if not _ANNOUNCED:
        _ANNOUNCED = True
        print(f"lecturekit: backbone {name!r} on {pick_device()}: {why(name)}. Change it with "
              f"load_backbone('vgg19') or LECTUREKIT_BACKBONE; choices: {', '.join(BACKBONES)}.")


def load_backbone(name: str | None = None, weights: str | None = "pretrained",
                  device: str | torch.device | None = None) -> Backbone:
    """A frozen backbone in eval mode, cached so that repeated calls are free.

    Args:
        name: one of BACKBONES; None picks `default_backbone_name()` and says so once.
        weights: "pretrained" (real ImageNet weights; raises WeightsUnavailableError when they cannot be
            had offline) or None (random weights, for tests and timing).
        device: defaults to `pick_device()` (cuda > mps > cpu).
    """
    if isinstance(name, Backbone):
        return name
    if name is None:
        name = default_backbone_name()
        _announce(name)
    if test_backbone():  # the test mode: every backbone request gets the test net, with random weights
        name, weights = test_backbone(), None
        torch.manual_seed(0)
    device = torch.device(device) if device is not None else pick_device()
    key = (name, weights, str(device))
    if key not in _CACHE:
        _CACHE[key] = build_backbone(name, weights).to(device)
    return _CACHE[key]
