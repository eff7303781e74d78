"""`fit`: the one training loop of the feed-forward nets; hooks add progress, callbacks and checkpoints.

    history = fit(net, loss, batches, optimizer, steps, hooks=[...], start_step=0, history=None)

loss(net, batch) -> {term name: scalar}; the terms are summed and minimized. After every step each
hook is called as hook(step, net, history). Distributed training wraps `net` in DDP before the call;
resuming passes the checkpoint's step and history. Nothing here knows about styles.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

from ..utils import progress_bar

Hook = Callable[[int, nn.Module, dict], None]


def fit(net: nn.Module, loss: Callable[[nn.Module, torch.Tensor], dict], batches: Iterator,
        optimizer: torch.optim.Optimizer, steps: int, hooks: Iterable[Hook] = (), start_step: int = 0,
        history: dict | None = None) -> dict:
    """Train `net` from step start_step + 1 to `steps`; returns {term: [value per step], "seconds": [...]}.

    A non-finite loss raises FloatingPointError naming the step (the checkpoint hook keeps the last
    good weights on disk).
    """
    history = history if history is not None else {}
    t0 = time.perf_counter() - (history.get("seconds") or [0.0])[-1]
    for step in range(start_step + 1, steps + 1):
        terms = loss(net, next(batches))
        total = sum(terms.values())
        if not torch.isfinite(total):
            raise FloatingPointError(f"The training loss became {float(total)} at step {step}; "
                                     "lower the learning rate or the loss weights.")
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        for name, v in {**terms, "total": total}.items():
            history.setdefault(name, []).append(float(v.detach()))
        history.setdefault("seconds", []).append(time.perf_counter() - t0)
        for hook in hooks:
            hook(step, net, history)
    return history


def progress_hook(total: int, show: bool = True) -> Hook:
    """A progress bar with the running loss (none in CI); close it with hook.close()."""
    bar = progress_bar(total, show, "training")

    def hook(step, net, history):
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history['total'][-1]:.3g}", refresh=False)
    hook.close = (lambda: bar.close()) if bar is not None else (lambda: None)
    return hook


def checkpoint_hook(save: Callable[[int, dict], None], every: int | None) -> Hook:
    """Call save(step, history) every `every` steps."""
    def hook(step, net, history):
        if every and step % every == 0:
            save(step, history)
    return hook
