"""Resumable training checkpoints: weights, config, optimizer state, step and history, written atomically."""
from __future__ import annotations

from pathlib import Path

import torch

from .stylize import CheckpointError, load_checkpoint_file, net_from_checkpoint


def save_checkpoint(path, net, opt, step: int, history: dict) -> None:
    """Write the training state at `step` (a killed save leaves the old file, never half of a new one)."""
    from ..utils import atomic_path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"state_dict": net.state_dict(), "config": net.config, "optimizer": opt.state_dict(),
                    "step": step, "history": dict(history)}, tmp)


def resume(path, net, opt) -> tuple[int, dict]:
    """Load a checkpoint of the same net into `net` and `opt`; returns (its step, its history)."""
    ckpt = load_checkpoint_file(path)
    if ckpt["config"] != net.config:
        raise CheckpointError(f"{path} holds a {ckpt['config']} net, not the {net.config} being trained.")
    net.load_state_dict(net_from_checkpoint(ckpt, path).state_dict())
    if "optimizer" in ckpt:
        opt.load_state_dict(ckpt["optimizer"])
    return int(ckpt.get("step", 0)), ckpt.get("history") or {}
