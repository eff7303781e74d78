"""lecturekit: the helper package of the "How CNNs see and paint" lecture notebooks.

    import lecturekit as lk
    bb = lk.load_backbone()                    # EfficientNet-Lite0 on a CPU, VGG-19 with CUDA
    img = lk.data.load("tubingen", max_size=256)
    out = lk.deepdream(img, bb)

`import lecturekit` is fast and needs no network: torch and the submodules load on first use.
"""
from __future__ import annotations

import importlib
import os

# Apple's MPS lacks a few ops; let torch run those on the CPU instead of failing (read when torch loads).
os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")

__version__ = "0.1.0"

_EXPORTS = {
    "load_backbone": "models", "Backbone": "models", "UnknownLayerError": "models",
    "WeightsUnavailableError": "models", "BACKBONES": "models",
    "load_image": "images", "save_image": "images", "read_metadata": "images", "resize": "images",
    "ImageLoadError": "images", "to_pil": "images",
    "show_images": "viz", "plot_losses": "viz",
    "seed_everything": "utils", "pick_device": "utils", "device": "utils", "in_ci": "utils",
    "optimize_image": "optimize", "Result": "optimize", "OPTIMIZERS": "optimize",
    "gram_matrix": "losses", "total_variation": "losses", "content_loss": "losses", "gram_loss": "losses",
    "feature_reconstruction_loss": "losses",
    "deepdream": "dream",
    "invert_features": "inversion",
    "efros_leung": "texture", "synthesize_texture": "texture", "match_histogram": "color",
    "style_transfer": "style", "StyleConfig": "style",
    "ImagePrior": "prior", "RunControls": "optimize", "optimize_stages": "optimize", "initial_image": "optimize",
    "DreamConfig": "configs",
    "GramTargets": "losses", "ContentTargets": "losses",
}
# The submodules `lk.<name>` loads on first use (module `__getattr__` below): a new module is listed here
# to be reachable as an attribute of `lk` without an import of its own; `import lecturekit` loads none.
_SUBMODULES = {"data", "models", "images", "viz", "widgets", "losses", "optimize", "dream", "inversion", "configs",
               "texture", "style", "color", "utils", "fast", "prior", "precision", "checks", "registry", "param"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lecturekit' has no attribute {name!r}")


def __dir__():
    return __all__
