"""Small helpers: seeding and device choice."""
from __future__ import annotations

import contextlib
import os
import random
import secrets
from pathlib import Path

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


def device() -> torch.device:
    """The device every lesson runs on: LECTUREKIT_DEVICE if set ("cpu", "cuda", "cuda:1", "mps"), else
    CUDA, then Apple's MPS, then the CPU. MPS runs in float32, and ops it lacks fall back to the CPU
    (lecturekit sets PYTORCH_ENABLE_MPS_FALLBACK=1 on import)."""
    forced = os.environ.get("LECTUREKIT_DEVICE", "").strip()
    if forced:
        try:
            chosen = torch.device(forced)
        except RuntimeError:
            raise ValueError(f"LECTUREKIT_DEVICE={forced!r} is not a device; use cpu, cuda, cuda:N or mps.") from None
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"LECTUREKIT_DEVICE={forced!r}, but this torch sees no CUDA GPU. Unset it to use "
                             "the CPU, or install a CUDA build of torch.")
        if chosen.type == "mps" and not _mps_available():
            raise ValueError(f"LECTUREKIT_DEVICE={forced!r}, but MPS (Apple silicon) is not available here.")
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("mps") if _mps_available() else torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def pick_device(prefer: str | None = None) -> torch.device:
    """`prefer` (e.g. "cpu") when given, else `device()`."""
    return torch.device(prefer) if prefer else device()


def test_backbone() -> str | None:
    """The random-weight test mode: LECTUREKIT_TEST_BACKBONE names a classic net (vgg19, googlenet,
    squeezenet1_1) that every `load_backbone` call then returns with random weights, and images are
    capped at `test_size()` pixels, so that a whole notebook runs in a minute or two. None when off."""
    return os.environ.get("LECTUREKIT_TEST_BACKBONE", "").strip() or None


def test_size() -> int | None:
    """The longest image side in the test mode (LECTUREKIT_TEST_SIZE, default 64; 0 for no cap, as the
    GPU check uses it: random weights at full size); None when the test mode is off."""
    if not test_backbone():
        return None
    return int(os.environ.get("LECTUREKIT_TEST_SIZE", "64")) or None


def in_ci() -> bool:
    """True when the CI environment variable is set (notebooks then print that they run as in CI)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def progress_bar(total: int, show: bool = True, desc: str = ""):
    """A tqdm bar over `total` steps, or None when `show` is False or in CI (nbval compares outputs)."""
    if not show or in_ci():
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, leave=False)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Write a file all at once: yields a temporary path in the same folder (same extension), which
    replaces `path` only when the block ends without an error. Interrupted (an exception, Ctrl-C, a
    killed process), `path` keeps its old content or stays absent; it is never half-written.

        with atomic_path("out.png") as tmp:
            image.save(tmp)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.part{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
