"""Using trained fast-style networks: load, stylize, list, save and export."""
from __future__ import annotations

import inspect
import json
import re
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F

from .registry import ARCHITECTURES, DEFAULT_ARCH, build, style_weights
from .transformer_net import TransformerNet

# The shipped nets live inside the package (lecturekit/assets/fast_styles), so a wheel carries them.
WEIGHTS_DIR = resources.files("lecturekit") / "assets" / "fast_styles"


class CheckpointError(ValueError):
    """A fast-style checkpoint that is corrupt or made for another architecture."""


def stylize(net: TransformerNet, image, style=0) -> torch.Tensor:
    """One forward pass: an image -> stylized (1, 3, H, W) in [0, 1], same size.

    image: any image source `lk.load_image` takes (path, registered name, bytes, PIL image, array,
        tensor (1, 3, H, W) in [0, 1], ...), checked the same way.
    style: a style of the net by index or name ("starry_night"), or {index or name: weight} with weights
        summing to 1 (a blend); a style the net does not have is an error, on a single-style net too.
    The input is reflection-padded to a multiple of 4 and the output cropped back. Any registered net
    works: it is called as net(x, style_weights) (see `registry`).
    """
    from ..checks import check_image_size
    from ..images import load_image
    style = style_spec(net, style)
    device = next(net.parameters()).device
    dtype = next(net.parameters()).dtype
    x = check_image_size(load_image(image), "image").to(device=device, dtype=dtype)
    h, w = x.shape[-2:]
    ph, pw = (-h) % 4, (-w) % 4
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        y = net(x, style_weights(style, getattr(net, "n_styles", 1), x.shape[0], device))
    net.train(was_training)
    return y[..., :h, :w].float().clamp(0, 1).cpu()


def style_spec(net, style):
    """`style` with style names replaced by indices, checked against the net's styles."""
    names = list(getattr(net, "styles", None) or [])
    n = getattr(net, "n_styles", 1)

    def index(key) -> int:
        if isinstance(key, str):
            if key not in names:
                raise ValueError(f"This net has no style named {key!r}; its styles: {', '.join(names) or 'unnamed'}.")
            return names.index(key)
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key < n:
            known = ", ".join(f"{i} ({s})" for i, s in enumerate(names)) if names else f"0..{n - 1}"
            raise ValueError(f"Style {key!r} does not exist: this net has {n} style{'s' * (n > 1)}: {known}.")
        return key
    if isinstance(style, torch.Tensor):
        return style
    if isinstance(style, dict):
        return {index(k): v for k, v in style.items()}
    return index(style)


def save_fast_style(net: TransformerNet, path: str | Path, styles: list[str] | None = None, half: bool = True,
                    **training_config) -> Path:
    """Save weights (fp16 by default) with the architecture, the style names (None: the net's own) and
    the training setup."""
    from ..utils import atomic_path
    styles = list(styles or style_names(net))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: (v.half() if half and v.is_floating_point() else v) for k, v in net.state_dict().items()}
    with atomic_path(path) as tmp:  # a killed save leaves the old file, never half of a new one
        torch.save({"state_dict": sd, "config": {**net.config, "styles": list(styles)}, "styles": list(styles),
                    "training": json.dumps(training_config, default=str)}, tmp)
    return path


def load_checkpoint_file(path: str | Path) -> dict:
    """Read a checkpoint safely (weights_only=True: tensors and plain data only, never code).

    A missing file raises FileNotFoundError; an empty, corrupt, foreign or unsafe one CheckpointError,
    each saying which in its own words.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No fast-style checkpoint at {path}. Known styles: {', '.join(list_styles())}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file.")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise CheckpointError(f"{path} is empty (0 bytes): not a checkpoint. Save or download it again.")
    if not head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save's zip archive, or its legacy pickle
        raise CheckpointError(f"{path} is not a readable checkpoint: it is not a file written by torch.save.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, zip errors, truncated files
        raise CheckpointError(_load_failure(path, e)) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "config" not in ckpt:
        raise CheckpointError(f"{path} is not a lecturekit fast-style checkpoint (no state_dict/config).")
    return ckpt


def _load_failure(path: Path, e: Exception) -> str:
    """Why torch.load failed, in our words: an unsafe pickle, or a corrupt file (torch's own advice to
    retry with weights_only=False is wrong for a corrupt file and dangerous for a malicious one)."""
    text = str(e)
    unsafe = re.search(r"GLOBAL (\S+)", text)
    if unsafe:
        return (f"{path} was refused: it holds Python objects ({unsafe.group(1)}) that could run code when "
                "loaded, and lecturekit loads only tensors and plain data. Use a checkpoint saved by lecturekit.")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not re.search(
        r"weights.only|Weights only|documentation|file an issue", ln, re.IGNORECASE)]
    reason = lines[0].split(". ")[0].rstrip(".") if lines else type(e).__name__
    return f"{path} is not a readable checkpoint: it is corrupt or truncated ({reason}). Save or download it again."


def _check_config(cfg, path) -> None:
    """CheckpointError unless `cfg` is a dict of options that its architecture knows."""
    arch = cfg.get("arch", DEFAULT_ARCH) if isinstance(cfg, dict) else DEFAULT_ARCH
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"{path} was saved for the architecture {arch!r}; this lecturekit knows "
                              f"{', '.join(sorted(ARCHITECTURES))}.")
    params = inspect.signature(ARCHITECTURES[arch]).parameters
    valid = sorted({"arch", "styles", *params})
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{path}: its config is a {type(cfg).__name__}, not a dict with the keys "
                              f"{', '.join(valid)}.")
    unknown = sorted(set(cfg) - set(valid))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise CheckpointError(f"{path}: unknown config key{'s' * (len(unknown) > 1)} {', '.join(unknown)}; "
                              f"the valid keys are {', '.join(valid)}.")


def _state_dict_mismatch(expected: dict, got: dict, shown: int = 6) -> str:
    """Which tensors of a state dict differ from a net's: shapes (checkpoint vs. expected), missing, extra."""
    def listed(items: list[str]) -> str:
        more = f"; and {len(items) - shown} more" if len(items) > shown else ""
        return "; ".join(items[:shown]) + more
    shapes = [f"{k} {tuple(got[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
              if k in got and tuple(got[k].shape) != tuple(v.shape)]
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    parts = [f"{len(shapes)} tensors differ in shape (checkpoint vs. expected): {listed(shapes)}" if shapes else "",
             f"{len(missing)} missing: {listed(missing)}" if missing else "",
             f"{len(extra)} unexpected: {listed(extra)}" if extra else ""]
    return ". ".join(p for p in parts if p)


def net_from_checkpoint(ckpt: dict, path: str | Path = "checkpoint") -> TransformerNet:
    """Build the net a checkpoint describes (its config names the architecture) and load its weights
    as float32. A config or weights that do not fit raise CheckpointError saying what differs."""
    cfg = ckpt["config"]
    _check_config(cfg, path)
    try:
        net = build(cfg)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: its config {cfg} does not describe a valid net: {e}") from None
    sd = ckpt["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"{path}: its state_dict is not a dict of tensors.")
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    mismatch = _state_dict_mismatch(net.state_dict(), sd)
    if mismatch:
        raise CheckpointError(f"{path} was saved for another architecture than {cfg}: {mismatch}.")
    net.load_state_dict(sd)
    return net.eval()


def style_names(net) -> list[str]:
    """The net's style names: its `.styles`, else "style 0", "style 1", ... for its `n_styles`."""
    return list(getattr(net, "styles", None) or [f"style {i}" for i in range(getattr(net, "n_styles", 1))])


def list_styles() -> list[str]:
    """Names of the shipped fast-style networks (files in lecturekit/assets/fast_styles/)."""
    return sorted(p.name[:-3] for p in WEIGHTS_DIR.iterdir() if p.name.endswith(".pt"))


def load_fast_style(name: str, device: str | torch.device | None = None) -> TransformerNet:
    """A shipped network by name (see `list_styles()`), or a checkpoint path; ready for `stylize`.

    The style names are in `net.styles`.
    """
    if str(name).endswith(".pt"):
        path, ckpt = Path(name), load_checkpoint_file(name)
    else:
        if name not in list_styles():
            raise FileNotFoundError(f"No shipped fast-style net named {name!r}. Known: {', '.join(list_styles())}")
        with resources.as_file(WEIGHTS_DIR / f"{name}.pt") as path:
            ckpt = load_checkpoint_file(path)
    net = net_from_checkpoint(ckpt, path)
    net.styles = list(ckpt["config"].get("styles") or ckpt.get("styles") or style_names(net))
    net.training_config = json.loads(ckpt.get("training", "{}") or "{}")
    for p in net.parameters():
        p.requires_grad_(False)
    return net.to(device) if device else net


def export_onnx(net: TransformerNet, path: str | Path, size: int = 256) -> Path:
    """Export a single-style net to ONNX (dynamic height and width). Needs the `onnx` package."""
    path = Path(path)
    x = torch.rand(1, 3, size, size)
    torch.onnx.export(net.eval(), (x,), str(path), input_names=["image"], output_names=["stylized"],
                      dynamic_axes={"image": {2: "height", 3: "width"}, "stylized": {2: "height", 3: "width"}})
    return path
