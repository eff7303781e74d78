"""The `Backbone`: a frozen pretrained CNN seen as a named sequence of layers.

Every lesson asks the same two questions of a network: "what are the activations at these layers?"
(`features`) and "what does it think this image is?" (`classify`). A Backbone answers both for any of
the supported nets, with the names used in the papers and the lecture.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class UnknownLayerError(KeyError):
    """A layer name that the backbone does not have."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass
class BackboneDefaults:
    """Layer choices that give good pictures on one net; every lesson starts from these.

    `shallow` ... `deepest` are single layers on a ladder of depth, so that a notebook can say
    "a deep layer" without naming one net's layers: for EfficientNet-Lite0 stem, stage1, stage2, stage3,
    stage4, stage5; for VGG-19 relu1_1, relu2_1, relu3_1, relu4_2, relu5_1, relu5_4.
    """

    content_layers: list[str]
    style_layers: list[str]
    dream_layers: list[str]
    dream_layer_grid: list[str]
    inversion_layers: list[str]
    texture_layers: list[str]
    shallow: str = ""
    early: str = ""
    mid: str = ""
    deep: str = ""
    deeper: str = ""
    deepest: str = ""
    style_layer_weights: list[float] | None = None
    style_content_layers: list[str] | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def gatys_content_layers(self) -> list[str]:
        """The content layers of Gatys style transfer (notebook 05): `style_content_layers` or `content_layers`."""
        return list(self.style_content_layers or self.content_layers)


class Backbone(nn.Module):
    """A frozen CNN as an ordered list of named stages.

    Args:
        name: the registry name, e.g. "vgg19" or "efficientnet_lite0".
        stages: (layer name, module) pairs in forward order; running them in turn gives the net's features.
        head: maps the last stage's output to ImageNet logits (None for nets without a classifier).
        mean, std: input normalization the weights were trained with.
        defaults: layer choices for the lessons.
        aliases: extra names for a stage (e.g. "stage3" for the last block of stage 3).
        labels: the 1000 ImageNet class names.
    """

    def __init__(self, name: str, stages: list[tuple[str, nn.Module]], head: nn.Module | None,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD, defaults: BackboneDefaults | None = None,
                 aliases: dict[str, str] | None = None, labels: list[str] | None = None,
                 weights: str | None = None):
        super().__init__()
        self.name = name
        self.stage_names = [n for n, _ in stages]
        self.stages = nn.ModuleList([m for _, m in stages])
        self.head = head
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.defaults = defaults
        self.aliases = dict(aliases or {})
        self.labels = labels
        self.weights = weights
        self._index = {n: i for i, n in enumerate(self.stage_names)}
        self._index.update({a: self._index[t] for a, t in self.aliases.items()})
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    @property
    def layers(self) -> list[str]:
        """The main layer names, in forward order (aliases such as "stage3" included, sub-blocks left out)."""
        alias_of = {t: a for a, t in self.aliases.items()}
        return [alias_of.get(n, n) for n in self.stage_names if n in alias_of or "." not in n]

    def train(self, mode: bool = True) -> "Backbone":
        """A backbone never trains: batch-norm statistics and dropout stay in inference mode."""
        return super().train(False)

    def layer_index(self, layer: str) -> int:
        """Position of `layer` in the forward order; an unknown name raises with the valid names listed."""
        if layer not in self._index:
            raise UnknownLayerError(
                f"Unknown layer {layer!r} for backbone {self.name!r}. Valid layers, shallow to deep: "
                f"{', '.join(self.layers)}" + (" (sub-blocks such as 'stage3.0' also work)"
                                               if any('.' in n for n in self.stage_names) else ""))
        return self._index[layer]

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> the input statistics the weights expect."""
        return (x - self.mean) / self.std

    def features(self, x: torch.Tensor, layers: str | list[str], pooling: str = "max",
                 normalized: bool = False) -> dict[str, torch.Tensor]:
        """Activations at `layers` for images x of shape (N, 3, H, W) with values in [0, 1].

        Runs only up to the deepest requested layer. `pooling="avg"` replaces every max pooling by an
        average pooling of the same size (Gatys et al. find it gives smoother images).
        Returns {layer name: (N, C, h, w) tensor}.
        """
        if isinstance(layers, str):
            layers = [layers]
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        wanted = {}
        for layer in layers:
            wanted.setdefault(self.layer_index(layer), []).append(layer)
        if x.device != self.mean.device:  # a CPU image on a GPU backbone (differentiable: grads flow back)
            x = x.to(self.mean.device)
        h = x if normalized else self.normalize(x)
        out: dict[str, torch.Tensor] = {}
        for i in range(max(wanted) + 1):
            module = self.stages[i]
            if pooling == "avg" and isinstance(module, nn.MaxPool2d):
                h = F.avg_pool2d(h, module.kernel_size, module.stride, module.padding, module.ceil_mode)
            else:
                h = module(h)
            for layer in wanted.get(i, ()):
                out[layer] = h
        return out

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (N, 1000) for images (N, 3, H, W) in [0, 1], at their given size."""
        if self.head is None:
            raise ValueError(f"Backbone {self.name!r} has no classifier head.")
        h = self.features(x, self.stage_names[-1])[self.stage_names[-1]]
        return self.head(h)

    @torch.no_grad()
    def classify(self, x: torch.Tensor, top: int = 5, resize: int | None = 256,
                 crop: int | None = 224) -> list[tuple[int, str, float]]:
        """Top-`top` ImageNet classes of one image (1, 3, H, W) in [0, 1].

        The image is first resized (short side `resize`) and centre-cropped to `crop`, the standard
        ImageNet evaluation. Returns [(class index, label, probability), ...], most likely first.
        """
        if resize:
            h, w = x.shape[-2:]
            s = resize / min(h, w)
            x = F.interpolate(x, size=(round(h * s), round(w * s)), mode="bilinear",
                              antialias=True, align_corners=False)
        if crop:
            h, w = x.shape[-2:]
            t, l = (h - crop) // 2, (w - crop) // 2
            x = x[..., t:t + crop, l:l + crop]
        probs = self.logits(x.to(self.mean.device)).softmax(-1)[0]
        p, idx = probs.topk(top)
        labels = self.labels or [str(i) for i in range(probs.numel())]
        return [(int(i), labels[int(i)], float(q)) for q, i in zip(p, idx)]

    def extra_repr(self) -> str:
        return f"name={self.name!r}, weights={self.weights!r}, layers={len(self.stage_names)}"
