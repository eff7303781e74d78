"""Using trained fast-style networks: load, stylize, list, save and export."""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from .transformer_net import NORMS, TransformerNet

WEIGHTS_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "fast_styles"


class CheckpointError(ValueError):
    """A fast-style checkpoint that is corrupt or made for another architecture."""


def stylize(net: TransformerNet, image: torch.Tensor, style=0) -> torch.Tensor:
    """One forward pass: (1, 3, H, W) in [0, 1] -> stylized (1, 3, H, W) in [0, 1], same size.

    `style` picks a style of a conditional net: an index or {index: weight} with weights summing to 1.
    The input is reflection-padded to a multiple of 4 and the output cropped back.
    """
    device = next(net.parameters()).device
    dtype = next(net.parameters()).dtype
    x = image.to(device=device, dtype=dtype)
    h, w = x.shape[-2:]
    ph, pw = (-h) % 4, (-w) % 4
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    was_training = net.training
    net.eval()
    with torch.inference_mode():
        y = net(x, style)
    net.train(was_training)
    return y[..., :h, :w].float().clamp(0, 1).cpu()


def save_fast_style(net: TransformerNet, path: str | Path, styles: list[str], half: bool = True,
                    **training_config) -> Path:
    """Save weights (fp16 by default) with the architecture, the style names and the training setup."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: (v.half() if half and v.is_floating_point() else v) for k, v in net.state_dict().items()}
    torch.save({"state_dict": sd, "config": net.config, "styles": list(styles),
                "training": json.dumps(training_config, default=str)}, path)
    return path


def load_checkpoint_file(path: str | Path) -> dict:
    """Read a checkpoint safely (weights_only); corrupt or foreign files raise CheckpointError."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No fast-style checkpoint at {path}. Known styles: {', '.join(list_styles())}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, zip errors, truncated files
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?): {e}") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "config" not in ckpt:
        raise CheckpointError(f"{path} is not a lecturekit fast-style checkpoint (no state_dict/config).")
    return ckpt


def net_from_checkpoint(ckpt: dict, path: str | Path = "checkpoint") -> TransformerNet:
    """Build the TransformerNet a checkpoint describes and load its weights (as float32)."""
    cfg = ckpt["config"]
    if cfg.get("norm") not in NORMS:
        raise CheckpointError(f"{path}: unknown normalization {cfg.get('norm')!r}")
    net = TransformerNet(**cfg)
    sd = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    try:
        net.load_state_dict(sd)
    except RuntimeError as e:
        raise CheckpointError(f"{path} was saved for another architecture than {cfg}: "
                              f"{str(e).splitlines()[0]}") from None
    return net.eval()


def list_styles() -> list[str]:
    """Names of the shipped fast-style networks (files in data/fast_styles/)."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def load_fast_style(name: str, device: str | torch.device | None = None) -> TransformerNet:
    """A shipped network by name (see `list_styles()`), or a checkpoint path; ready for `stylize`.

    The style names are in `net.styles`.
    """
    path = Path(name) if str(name).endswith(".pt") else WEIGHTS_DIR / f"{name}.pt"
    if not path.exists() and not str(name).endswith(".pt"):
        raise FileNotFoundError(f"No shipped fast-style net named {name!r}. Known: {', '.join(list_styles())}")
    ckpt = load_checkpoint_file(path)
    net = net_from_checkpoint(ckpt, path)
    net.styles = list(ckpt.get("styles", []))
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
