"""Up-front checks of the lessons' parameters: one clear error before the work starts.

Every check raises `ParameterError` (a ValueError) with one message that names the parameter, the value
it got and the valid range, and returns the value in the form the lesson uses (int, float, list).

    >>> check_steps(0)
    Traceback (most recent call last):
    ...
    lecturekit.checks.ParameterError: steps must be an integer >= 1; got 0
"""
from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a check meets a tensor, so the command line answers fast
    import torch

MIN_SIZE = 16     # px: smaller images leave nothing for a CNN's deeper layers (they are 1/16 to 1/32 of it)
MAX_SIZE = 4096   # px: the largest side a lesson computes at (images.MAX_SIDE is the same)
BYTES_PER_PIXEL = 3_000  # rough activations + gradients per input pixel of a style step on VGG-19


class ParameterError(ValueError):
    """A parameter outside its valid range; the message names it, its value and the range."""


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "dim")


def _as_list(value) -> list | None:
    """A list, tuple, array or tensor as a list of its items; None for anything else (str, dict, numbers)."""
    if _is_tensor(value):
        return value.tolist() if value.dim() == 1 else None
    if hasattr(value, "tolist"):  # numpy arrays; a 0-d one gives a number
        value = value.tolist()
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        return None
    return list(value)


def check_steps(steps, name: str = "steps") -> int:
    """`steps` as an int; it must be an integer >= 1 (0 or -1 would return the input unchanged)."""
    if not _is_int(steps) or steps < 1:
        raise ParameterError(f"{name} must be an integer >= 1; got {steps!r}")
    return int(steps)


def estimate_memory_gb(size: int) -> float:
    """Rough memory (GB) of one optimization step on a size x size image (VGG-19 style transfer)."""
    return size * size * BYTES_PER_PIXEL / 1e9


def check_size(size, name: str = "size", allow_none: bool = True, allow_pair: bool = False,
               minimum: int = MIN_SIZE):
    """`size` (longest side in px, or None for the image's own size) as an int, or an (H, W) pair.

    Valid: an integer minimum <= size <= MAX_SIZE (minimum: MIN_SIZE = 16 unless given); with
    allow_pair also (H, W) of such integers. Too large a size names the memory it would need.
    """
    if size is None and allow_none:
        return None
    pair = _as_list(size) if allow_pair else None
    if pair is not None and len(pair) == 2:
        return tuple(check_size(s, f"{name}[{i}]", False, False, minimum) for i, s in enumerate(pair))
    kinds = " or (H, W)" if allow_pair else ""
    none = " (or None: the image's own size)" if allow_none else ""
    if not _is_int(size) or size < minimum:
        raise ParameterError(f"{name} must be an integer{kinds} from {minimum} to {MAX_SIZE} px{none}; "
                             f"got {size!r}")
    if size > MAX_SIZE:
        raise ParameterError(f"{name}={size} would need about {estimate_memory_gb(size):,.0f} GB of memory "
                             f"(~{BYTES_PER_PIXEL // 1000} KB per pixel); the largest is {MAX_SIZE} px")
    return int(size)


def check_range(name: str, value, minimum: float | None = None, maximum: float | None = None,
                integer: bool = False) -> float | int:
    """`value` as a float (int if `integer`); it must be finite and within [minimum, maximum]."""
    ok = (_is_int(value) if integer else _is_real(value)) and math.isfinite(value)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        kind = "an integer" if integer else "a finite number"
        bounds = [f">= {minimum}" if minimum is not None else "", f"<= {maximum}" if maximum is not None else ""]
        rule = " and ".join(b for b in bounds if b)
        raise ParameterError(f"{name} must be {kind}{' ' + rule if rule else ''}; got {value!r}")
    return int(value) if integer else float(value)


MAX_WEIGHT = 1e15  # larger weights overflow float32 (max 3.4e38) once multiplied by a loss term


def check_weight(name: str, value, allow_none: bool = False) -> float | None:
    """A loss weight as a float: finite, >= 0 and at most MAX_WEIGHT (nan, inf, negative weights and
    weights that would overflow float32 are refused). With allow_none, None is returned as None."""
    if value is None and allow_none:
        return None
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise ParameterError(f"{name} must be a finite number >= 0; got {value!r}")
    if value > MAX_WEIGHT:
        raise ParameterError(f"{name} must be at most {MAX_WEIGHT:.0e}: larger weights overflow the float32 loss; "
                             f"got {value!r}")
    return float(value)


def check_snapshots(snapshots, total_steps: int, name: str = "snapshots") -> tuple[int, ...]:
    """Steps at which to keep the picture: whole numbers from 0 (the start) to `total_steps`."""
    items = _as_list(snapshots) if snapshots is not None else []
    if items is None:
        raise ParameterError(f"{name} must be a list of steps, e.g. (10, 50); got {snapshots!r}")
    bad = [s for s in items if not _is_int(s) or not 0 <= s <= total_steps]
    if bad:
        raise ParameterError(f"{name} must be whole steps from 0 to {total_steps} (the run's steps); "
                             f"got {', '.join(map(repr, bad))}")
    return tuple(int(s) for s in items)


def check_layers(layers, name: str = "layers") -> list[str]:
    """One layer name or a non-empty list of them (a string is one layer, not a list of letters)."""
    if isinstance(layers, str):
        return [layers]
    items = _as_list(layers)
    if not items or not all(isinstance(x, str) for x in items):
        raise ParameterError(f"{name} must be a layer name or a non-empty list of layer names; got {layers!r}")
    return items


def check_positive(name: str, value, allow_none: bool = False) -> float | None:
    """A scale or step size as a float: finite and > 0 (e.g. style_scale, step_size, lr).
    With allow_none, None (the caller's default) is returned as None."""
    if value is None and allow_none:
        return None
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ParameterError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def check_blend(weights, n: int, name: str = "style_blend") -> list[float]:
    """Convex weights of `n` styles: None gives equal weights; else `n` finite numbers >= 0 with a
    positive sum, divided by their sum. If they did not sum to 1, a UserWarning says what they became."""
    if weights is None:
        return [1.0 / n] * n
    items = _as_list(weights)
    if items is None:
        raise ParameterError(f"{name} must be a list of {n} numbers >= 0; got {weights!r}")
    if len(items) != n:
        raise ParameterError(f"{name} has {len(items)} weight{'s' * (len(items) != 1)} for {n} "
                             f"style image{'s' * (n != 1)}; "
                             f"give one weight per style; got {items}")
    w = [check_weight(f"{name}[{i}]", b) for i, b in enumerate(items)]
    total = sum(w)
    if total <= 0:
        raise ParameterError(f"{name} must have a positive sum; got {items}")
    out = [b / total for b in w]
    if abs(total - 1.0) > 1e-6:
        warnings.warn(f"{name} {items} sums to {total:.4g}, not 1; renormalized to "
                      f"{[round(b, 4) for b in out]}", UserWarning, stacklevel=2)
    return out


def check_layer_weights(weights, layers: Sequence[str], name: str = "style_layer_weights") -> list[float] | None:
    """One weight (finite, >= 0) per layer, as a list; None stays None (the caller's default).

    A dict {layer: weight} must name exactly `layers`.
    """
    if weights is None:
        return None
    layers = list(layers)
    if isinstance(weights, dict):
        if set(weights) != set(layers):
            raise ParameterError(f"{name} must name exactly the layers {layers}; got {sorted(weights)}")
        weights = [weights[layer] for layer in layers]
    items = _as_list(weights)
    if items is None or len(items) != len(layers):
        got = f"{len(items)} weights" if items is not None else type(weights).__name__
        raise ParameterError(f"{name} needs one weight per layer, {len(layers)} for {', '.join(layers)}; "
                             f"got {got}: {weights!r}")
    return [check_weight(f"{name}[{i}]", w) for i, w in enumerate(items)]


def check_multiscale(sizes, name: str = "multiscale") -> list[int] | None:
    """Coarse-to-fine sizes as a list of ints: non-empty, each a valid size, strictly increasing."""
    if sizes is None:
        return None
    items = _as_list(sizes)
    if not items:
        raise ParameterError(f"{name} must be a non-empty list of increasing sizes, e.g. [128, 256]; got {sizes!r}")
    out = [check_size(s, f"{name}[{i}]", allow_none=False) for i, s in enumerate(items)]
    if any(b <= a for a, b in zip(out, out[1:])):
        raise ParameterError(f"{name} sizes must increase from coarse to fine, e.g. [128, 256]; got {items}")
    return out


def _hw(x) -> tuple[int, int]:
    """(H, W) of an image tensor (..., H, W) or of a shape tuple."""
    shape = tuple(x.shape) if _is_tensor(x) else tuple(x)
    return int(shape[-2]), int(shape[-1])


def check_image_size(x, name: str = "image") -> torch.Tensor:
    """`x` (an image tensor (..., H, W)) unchanged, if it has at least MIN_SIZE px on each side."""
    h, w = _hw(x)
    if min(h, w) < MIN_SIZE:
        raise ParameterError(f"{name} is {w}x{h} px; images must be at least {MIN_SIZE} px on each side. "
                             "Pass a larger image.")
    return x


def check_resized_side(shape, size, name: str = "image") -> None:
    """Refuse an aspect ratio so extreme that resizing the longest side to `size` leaves the short side
    below MIN_SIZE px (a 3x5000 image at size 64 would be 1x64). shape: (..., H, W); size: int or None."""
    if _as_list(size) is not None:
        return  # an explicit (H, W) keeps no aspect ratio; check_size judges its sides
    h, w = _hw(shape)
    size = max(h, w) if size is None else size
    short = min(h, w) * size / max(h, w)
    if round(short) < MIN_SIZE:
        raise ParameterError(f"{name} is {w}x{h} px: at size={size} its short side would be {round(short)} px, "
                             f"below {MIN_SIZE} px. Crop it to an aspect ratio of at most "
                             f"{size / MIN_SIZE:.3g}:1, or use a larger size.")


def check_choice(name: str, value, choices: Sequence):
    """`value` unchanged if it is one of `choices`; else one error listing them."""
    if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


# --------------------------------------------------------------------------- output files
SAVE_CANDIDATES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def save_extensions() -> tuple[str, ...]:
    """The file extensions `save_image` can write here, e.g. (".png", ".jpg", ".jpeg", ".webp", ...)."""
    from PIL import Image
    Image.init()
    known = Image.registered_extensions()
    return tuple(e for e in SAVE_CANDIDATES if known.get(e) in Image.SAVE)


def check_output_path(path: str | Path, extensions: tuple[str, ...] | None = None, what: str = "an image") -> Path:
    """`path` as a Path if `what` can be saved there; else ValueError saying why, before any work is done.

    The extension must be one of `extensions` (None: `save_extensions()`), listed in the message, and the
    nearest existing folder above the file must be a writable folder (missing ones are created on saving).
    """
    path = Path(path).expanduser()
    extensions = save_extensions() if extensions is None else extensions
    if path.suffix.lower() not in extensions:
        why = f"the extension {path.suffix!r} is not supported" if path.suffix else "it has no extension"
        raise ValueError(f"Cannot save {what} as {path}: {why}. Use one of {', '.join(extensions)}.")
    return check_writable(path, what)


def check_writable(path: str | Path, what: str = "a file") -> Path:
    """`path` as a Path if a file can be written there: not a folder, not a read-only file, and the
    nearest existing folder above it writable (missing folders are created on saving)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"Cannot save {what} as {path}: it is a folder.")
    existing = next(p for p in path.absolute().parents if p.exists())
    if not existing.is_dir():
        raise ValueError(f"Cannot save {what} as {path}: {existing} is a file, not a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"Cannot save {what} as {path}: no permission to write in {existing}.")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"Cannot save {what} as {path}: no permission to overwrite it.")
    return path


def sidecar_path(path: str | Path) -> Path:
    """Where `save_image` puts the metadata of a non-PNG picture: beside it, with ".json" added."""
    path = Path(path)
    return path.with_suffix(path.suffix + ".json")
