"""A straightforward style transfer in the manner of the PyTorch tutorial, as the speed reference.

Loss modules are inserted into an nn.Sequential copy of the network after the chosen layers, the model
is cut after the last of them, targets are computed once, and L-BFGS optimizes the input image in
float32 with the default memory format. This is the reference that bench/style_bench.py compares
lecturekit against, in the same process.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gram(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    f = x.reshape(n * c, h * w)
    return f @ f.t() / (n * c * h * w)


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()
        self.loss = torch.zeros(())

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


class StyleLoss(nn.Module):
    def __init__(self, target_features):
        super().__init__()
        self.target = gram(target_features).detach()
        self.loss = torch.zeros(())

    def forward(self, x):
        self.loss = F.mse_loss(gram(x), self.target)
        return x


class NormalizedStyleLoss(nn.Module):
    """lecturekit's style term, Σ(G − A)² / ΣA² with G = F Fᵀ / HW, so both optimize one objective."""

    def __init__(self, target_features):
        super().__init__()
        self.target = gram_hw(target_features).detach()
        self.scale = self.target.pow(2).sum()
        self.loss = torch.zeros(())

    def forward(self, x):
        self.loss = (gram_hw(x) - self.target).pow(2).sum() / self.scale
        return x


def gram_hw(x: torch.Tensor) -> torch.Tensor:
    """F Fᵀ / HW of a (1, C, H, W) feature map."""
    _, c, h, w = x.shape
    f = x.reshape(c, h * w)
    return f @ f.t() / (h * w)


class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean.view(-1, 1, 1))
        self.register_buffer("std", std.view(-1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def named_stages(backbone) -> list[tuple[str, nn.Module]]:
    """The backbone's stages as (layer name, module), main layers under their lecture names ("stage3")."""
    alias_of = {target: alias for alias, target in backbone.aliases.items()}
    return [(alias_of.get(n, n), m) for n, m in zip(backbone.stage_names, backbone.stages)]


def build(stages: list[tuple[str, nn.Module]], mean, std, content, style, content_layers, style_layers,
          normalized: bool = False):
    """nn.Sequential with loss modules after the named stages, cut after the last one.

    normalized: lecturekit's normalized Gram term (`NormalizedStyleLoss`) instead of the tutorial's
    MSE of Grams divided by N·C·H·W; then run(..., style_weight=1e3) optimizes lecturekit's plain loss."""
    model, trunk = nn.Sequential(Normalize(mean, std)), nn.Sequential(Normalize(mean, std))
    content_losses, style_losses = [], []
    last = max(i for i, (n, _) in enumerate(stages) if n in content_layers + style_layers)
    for name, module in stages[:last + 1]:
        model.add_module(name.replace(".", "_"), module)
        trunk.add_module(name.replace(".", "_"), module)  # without loss modules: the style may differ in size
        if name in content_layers:
            loss = ContentLoss(model(content))
            model.add_module(f"content_{len(content_losses)}", loss)
            content_losses.append(loss)
        if name in style_layers:
            loss = (NormalizedStyleLoss if normalized else StyleLoss)(trunk(style))
            model.add_module(f"style_{len(style_losses)}", loss)
            style_losses.append(loss)
    return model.eval().requires_grad_(False), content_losses, style_losses


def run(model, content_losses, style_losses, init, steps, style_weight=1e6, content_weight=1.0, callback=None):
    """L-BFGS on the input, one evaluation per step; returns (image, per-step seconds, final loss).

    callback(step, image, seconds so far) after every step, outside the timed part."""
    import time
    x = init.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], max_iter=1)
    times, losses = [], []

    def closure():
        with torch.no_grad():
            x.clamp_(0, 1)
        opt.zero_grad()
        model(x)
        loss = style_weight * sum(s.loss for s in style_losses) + content_weight * sum(c.loss for c in content_losses)
        loss.backward()
        losses.append(float(loss.detach()))
        return loss

    for _ in range(steps):
        t0 = time.perf_counter()
        opt.step(closure)
        times.append(time.perf_counter() - t0)
        if callback is not None:
            callback(len(times), x.detach().clamp(0, 1), sum(times))
    return x.detach().clamp(0, 1), times, losses
