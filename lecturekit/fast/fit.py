"""`fit`: the one training loop of the feed-forward nets; hooks add callbacks and checkpoints.

    history = fit(net, loss, batches, optimizer, steps, hooks=[...], start_step=0, history=None,
                  controls=RunControls(...))

loss(net, batch) -> {term name: scalar}; the terms are summed and minimized. After every step each
hook is called as hook(step, net, history), then the run controls (`optimize.RunControls`: progress
bar, callback(step, net, terms), should_stop), the same as for a pixel optimization. Distributed
training wraps `net` in DDP before the call; resuming passes the checkpoint's step and history.
Nothing here knows about styles.

A NaN or infinite loss stops the training and puts back the last weights whose loss was finite;
Ctrl-C stops it after the step under way; both with a RuntimeWarning. `history.stopped` says why
("nan", "interrupted", "stop" or None) and `history.message` what happened.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

from ..optimize import RunControls

Hook = Callable[[int, nn.Module, dict], None]


class History(dict):
    """{term: [value per step], "seconds": [...]}, with why the run stopped: `.stopped`, `.message`."""

    stopped: str | None = None
    message: str = ""


def fit(net: nn.Module, loss: Callable[[nn.Module, torch.Tensor], dict], batches: Iterator,
        optimizer: torch.optim.Optimizer, steps: int, hooks: Iterable[Hook] = (), start_step: int = 0,
        history: dict | None = None, *, controls: RunControls = RunControls(progress=False)) -> History:
    """Train `net` from step start_step + 1 to `steps`; returns the History of every step so far."""
    history = History(history or {})
    t0 = time.perf_counter() - (history.get("seconds") or [0.0])[-1]
    bar = controls.progress_bar(steps - start_step, "training")
    done, good = start_step, []
    try:
        for step in range(start_step + 1, steps + 1):
            terms = _step(net, loss, next(batches), optimizer, good)
            if terms is None:
                history.stopped = "nan"
                _restore(net, good)
                break
            for name, v in terms.items():
                history.setdefault(name, []).append(float(v))
            history.setdefault("seconds", []).append(time.perf_counter() - t0)
            done = step
            for hook in hooks:
                hook(step, net, history)
            if controls.after_step(step, net, terms, history["total"][-1], bar):
                history.stopped = "stop"
                break
    except KeyboardInterrupt:
        history.stopped = "interrupted"
    finally:
        bar.close()
    if history.stopped:
        history.message = controls.report(history.stopped, done + (history.stopped == "nan"), steps, "weights")
    return history


def _step(net: nn.Module, loss, batch: torch.Tensor, optimizer: torch.optim.Optimizer,
          good: list[torch.Tensor]) -> dict | None:
    """One optimizer step; its detached terms with "total", or None (no step taken) if the loss is not
    finite. `good` is set to a copy of the weights whose loss was finite, before they change."""
    terms = loss(net, batch)
    total = sum(terms.values())
    if not torch.isfinite(total):
        return None
    good[:] = [p.detach().clone() for p in net.parameters()]
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return {k: v.detach() for k, v in {**terms, "total": total}.items()}


@torch.no_grad()
def _restore(net: nn.Module, good: list[torch.Tensor]) -> None:
    """Put back the last weights whose loss was finite (none kept: the first step failed, nothing moved)."""
    for p, g in zip(net.parameters(), good):
        p.copy_(g)


def checkpoint_hook(save: Callable[[int, dict], None], every: int | None) -> Hook:
    """Call save(step, history) every `every` steps."""
    def hook(step, net, history):
        if every and step % every == 0:
            save(step, history)
    return hook
