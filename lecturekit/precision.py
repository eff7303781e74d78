"""`precision="auto"` and `channels_last="auto"`, decided by measurement on the machine at hand.

Whether bfloat16 autocast or the NHWC memory layout is faster depends on the CPU (AVX512-BF16, AMX),
the GPU and the net, in ways one fixed rule gets wrong. So on first use we time one forward and
backward pass of the backbone at the working size in each candidate setting and keep the fastest,
cached per (device, backbone, size) for the process. The choice is announced once.
"""
from __future__ import annotations

import contextlib
import time

import torch

CANDIDATES = (("float32", False), ("float32", True), ("bfloat16", False), ("bfloat16", True))
_CHOICES: dict[tuple, tuple[str, bool]] = {}


def autocast(device: torch.device, precision: str):
    """The autocast context of `precision` ("float32": none; "bfloat16": bfloat16 autocast)."""
    if precision != "bfloat16":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _bf16_possible(device: torch.device) -> bool:
    return device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_bf16_supported())


def time_setting(backbone, layers: list[str], size: int, precision: str, channels_last: bool,
                 repeats: int = 2) -> float:
    """Seconds of one forward + backward pass of (1, 3, size, size) to `layers` (the best of `repeats`)."""
    device = backbone.mean.device
    x = torch.rand(1, 3, size, size, device=device, requires_grad=True)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    backbone.to(memory_format=fmt)
    best = float("inf")
    try:
        for _ in range(repeats + 1):  # the first pass warms up oneDNN's kernels and is not counted
            t = time.perf_counter()
            with autocast(device, precision):
                feats = backbone.features(x.contiguous(memory_format=fmt), layers)
            sum(f.float().pow(2).mean() for f in feats.values()).backward()
            if device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t)
    finally:
        backbone.to(memory_format=torch.contiguous_format)
    return best


def choose(backbone, layers: list[str], size: int, precision: str = "auto", channels_last="auto",
           verbose: bool = True) -> tuple[str, bool]:
    """(precision, channels_last) for this backbone at `size`: the given values, with each "auto"
    replaced by the fastest measured candidate. Cached per device, backbone and size."""
    if precision != "auto" and channels_last != "auto":
        return precision, bool(channels_last)
    device = backbone.mean.device
    candidates = [(p, c) for p, c in CANDIDATES
                  if precision in ("auto", p) and channels_last in ("auto", c)
                  and (p == "float32" or _bf16_possible(device))]
    key = (str(device), backbone.name, int(size), precision, channels_last)
    if key not in _CHOICES:
        times = {pc: time_setting(backbone, layers, size, *pc) for pc in candidates}
        _CHOICES[key] = min(times, key=times.get)
        if verbose:
            listing = ", ".join(f"{p}{' + NHWC' if c else ''} {t * 1000:.0f} ms" for (p, c), t in times.items())
            print(f"lecturekit: measured one step at {size} px on {device}: {listing}; "
                  f"using {_CHOICES[key][0]}{' + channels_last' if _CHOICES[key][1] else ''}")
    return _CHOICES[key]
