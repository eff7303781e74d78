"""The perceptual loss of the feed-forward nets (Johnson, Alahi & Fei-Fei 2016).

    L(y) = α ||Φ_c(y) − Φ_c(x)||² + β Σ_l w_l E_l(y, a_s) + λ_TV (TV(Y) + TV(chroma)),  y = f_W(x)

Φ from a frozen backbone, x a batch of content crops, a_s the style image. The TV is the one total
variation of the package (`losses.total_variation`, β = 2: luminance and chroma, in units that do not
depend on the crop size), its luminance part weighted by tv_weight as in every lesson and its chroma
part by the same weight (as Johnson et al. weigh every RGB channel alike) unless a chroma weight is given. For a conditional net one
style is drawn per batch (Dumoulin et al. 2017).
"""
from __future__ import annotations

import inspect
import random

import torch
import torch.nn.functional as F

from ..images import resize
from ..losses import ContentTargets, GramTargets, summed, total_variation
from ..models import Backbone


def style_terms(backbone: Backbone, styles: list[torch.Tensor], layers: list[str], size: int) -> list[GramTargets]:
    """One Gram style term per style, from the painting resized to the training crop size."""
    features = lambda x, ls: backbone.features(x, ls)  # noqa: E731
    return [GramTargets(features, [resize(s, size)], layers) for s in styles]


def perceptual_loss(backbone: Backbone, y: torch.Tensor, x: torch.Tensor, style: GramTargets,
                    content_layers: list[str], weights: tuple[float, ...]) -> dict:
    """{"content", "style", "tv"} of outputs y (N, 3, H, W) against inputs x and one style's term.

    weights: (content, style, tv) or (content, style, luminance tv, chroma tv)."""
    cw, sw, tw, chroma_tw = (*weights, weights[2])[:4]
    features = lambda im, ls: backbone.features(im, ls)  # noqa: E731
    fy = features(y, list(dict.fromkeys(content_layers + style.layers)))
    content = ContentTargets(features, x, content_layers)
    return {"content": summed(content.terms(fy, cw), "content"), "style": summed(style.terms(fy, sw), "style"),
            "tv": _weighted_tv(y, tw, chroma_tw)}


def _weighted_tv(y: torch.Tensor, luminance_weight: float, chroma_weight: float) -> torch.Tensor:
    luminance, chroma = total_variation(y)
    return luminance_weight * luminance + chroma_weight * chroma


def saturation_penalty(logits: torch.Tensor, limit: float = 4.0) -> torch.Tensor:
    """mean(relu(|z| − limit)²): zero while the sigmoid output stays within (0.018, 0.982)."""
    return F.relu(logits.abs() - limit).pow(2).mean()


def gives_logits(net) -> bool:
    """Whether the net's forward takes logits=True (the values before its sigmoid; see `registry`)."""
    return "logits" in inspect.signature(getattr(net, "module", net).forward).parameters


def training_loss(backbone, targets: list[GramTargets], content_layers, weights: tuple[float, ...],
                  saturation_weight: float, rng: random.Random):
    """loss(net, x): one style drawn per batch (Dumoulin et al.), the perceptual loss and, for nets that
    give their logits, the saturation penalty. The net is called as net(x, style_weights (N, n_styles))."""
    def loss(net, x):
        k = rng.randrange(len(targets))
        n_styles = getattr(getattr(net, "module", net), "n_styles", 1)
        w = F.one_hot(torch.tensor(k), n_styles).float().to(x.device).expand(x.shape[0], -1)
        penalize = saturation_weight and gives_logits(net)
        z = net(x, w, logits=True) if penalize else None
        y = torch.sigmoid(z) if penalize else net(x, w)
        terms = perceptual_loss(backbone, y, x, targets[k], content_layers, weights)
        if penalize:
            terms["saturation"] = saturation_weight * saturation_penalty(z)
        return terms
    return loss
