"""Small helpers: seeding and device choice."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) so that a notebook gives the same images every run.

    Returns a torch.Generator seeded with `seed`, for code that wants its own stream.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(prefer: str | None = None) -> torch.device:
    """The fastest available device: cuda > mps > cpu (or `prefer`, e.g. "cpu", when given)."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def in_ci() -> bool:
    """True when the CI environment variable is set (notebooks then print that they run as in CI)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def progress_bar(total: int, show: bool = True, desc: str = ""):
    """A tqdm bar over `total` steps, or None when `show` is False or in CI (nbval compares outputs)."""
    if not show or in_ci():
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, leave=False)
