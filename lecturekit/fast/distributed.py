"""Data-parallel training set-up: one process, or several under `torchrun` (gloo on CPU, nccl on CUDA)."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def dist_info() -> tuple[int, int]:
    """(world size, this process's rank); joins the process group when torchrun started several."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    return world, rank


def wrap(net: nn.Module, world: int) -> nn.Module:
    """The net as the training loop sees it: wrapped in DistributedDataParallel with several processes."""
    return torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net


def finish() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_initialized():
        dist.destroy_process_group()
