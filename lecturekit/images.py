"""Loading and saving images as tensors of shape (1, 3, H, W) with values in [0, 1]."""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFile, ImageOps, PngImagePlugin, UnidentifiedImageError

ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_SIDE = 4096  # larger images are downscaled, with a notice, instead of exhausting memory


class ImageLoadError(ValueError):
    """An image that cannot be read: missing, not an image, truncated or corrupt."""


def load_image(src, max_size: int | None = None) -> torch.Tensor:
    """Any image source -> float tensor (1, 3, H, W), values in [0, 1].

    Args:
        src: a path, an http(s) URL, a PIL image, a numpy array ((H, W) or (H, W, C), uint8/uint16/float
            in [0, 1]) or a tensor ((3, H, W), (1, 3, H, W) or (H, W)).
        max_size: if given, the longest side is scaled down to at most this many pixels.

    EXIF orientation is applied; grayscale, palette, CMYK and 16-bit images become RGB; transparency is
    composited on white. Images with a side over MAX_SIDE are downscaled with a warning.
    """
    if isinstance(src, torch.Tensor):
        x = _tensor_to_batch(src)
    elif isinstance(src, np.ndarray):
        x = _array_to_tensor(src)
    elif isinstance(src, Image.Image):
        x = _pil_to_tensor(src)
    elif isinstance(src, (str, Path)):
        x = _pil_to_tensor(_open(src), name=str(src))
    else:
        raise TypeError(f"load_image takes a path, URL, PIL image, numpy array or tensor, not {type(src).__name__}")
    return resize_max(x, max_size, warn_over=MAX_SIDE)


def _open(src: str | Path) -> Image.Image:
    text = str(src)
    if text.startswith(("http://", "https://")):
        from .data import fetch_url
        src = fetch_url(text)
    path = Path(src).expanduser()
    if not path.exists():
        raise ImageLoadError(f"Image file not found: {path}. Check the path, or use lk.data.path(NAME) "
                             "for a registered image.")
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file.")
    try:
        img = Image.open(path)
        img.load()  # decode now, so a truncated file fails here with its name
        return img
    except UnidentifiedImageError as e:
        raise ImageLoadError(f"{path} is not an image file PIL can read (JPEG, PNG, ...).") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"{path} is truncated or corrupt and cannot be decoded ({e}). "
                             "Download it again.") from e


def _pil_to_tensor(img: Image.Image, name: str = "image") -> torch.Tensor:
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        scale = 65535.0 if arr.max() > 255 or img.mode.startswith("I;16") else 255.0
        arr = np.clip(arr / scale, 0, 1)
        return torch.from_numpy(np.repeat(arr[..., None], 3, axis=2)).permute(2, 0, 1)[None].contiguous()
    if img.mode == "F":
        arr = np.clip(np.asarray(img, dtype=np.float32), 0, 1)
        return torch.from_numpy(np.repeat(arr[..., None], 3, axis=2)).permute(2, 0, 1)[None].contiguous()
    if img.mode == "P" and "transparency" in img.info or img.mode in ("LA", "PA"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    img = img.convert("RGB")
    arr = np.array(img, dtype=np.uint8)
    return torch.from_numpy(arr).permute(2, 0, 1)[None].float().div_(255.0).contiguous()


def _array_to_tensor(arr: np.ndarray) -> torch.Tensor:
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"A numpy image must be (H, W) or (H, W, 1|3|4); got shape {arr.shape}")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    else:
        arr = arr.astype(np.float32)
    if arr.shape[2] == 4:
        alpha = arr[..., 3:]
        arr = arr[..., :3] * alpha + (1 - alpha)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return torch.from_numpy(np.clip(arr, 0, 1)).permute(2, 0, 1)[None].contiguous()


def _tensor_to_batch(t: torch.Tensor) -> torch.Tensor:
    t = t.detach().float()
    if t.dim() == 2:
        t = t[None].expand(3, -1, -1)
    if t.dim() == 3:
        t = t[None]
    if t.dim() != 4 or t.shape[0] != 1 or t.shape[1] not in (1, 3):
        raise ValueError(f"A tensor image must be (H, W), (3, H, W) or (1, 3, H, W); got {tuple(t.shape)}")
    if t.shape[1] == 1:
        t = t.expand(-1, 3, -1, -1)
    return t.clamp(0, 1).contiguous()


def resize_max(x: torch.Tensor, max_size: int | None, warn_over: int | None = None) -> torch.Tensor:
    """Scale (N, 3, H, W) down so that its longest side is at most max_size (never up)."""
    longest = max(x.shape[-2:])
    if warn_over and longest > warn_over and (max_size is None or max_size > warn_over):
        warnings.warn(f"Image of {x.shape[-1]}x{x.shape[-2]} px is larger than {warn_over} px; "
                      f"downscaling it to {warn_over} px to save memory (pass max_size to choose).")
        max_size = warn_over
    if max_size is None or longest <= max_size:
        return x
    return resize(x, scale=max_size / longest)


def resize(x: torch.Tensor, size: int | tuple[int, int] | None = None, scale: float | None = None) -> torch.Tensor:
    """Antialiased bilinear resize of (N, C, H, W).

    `size` as an int sets the longest side (aspect kept); as (H, W) it sets both; `scale` multiplies both.
    """
    h, w = x.shape[-2:]
    if scale is not None:
        out = (max(1, round(h * scale)), max(1, round(w * scale)))
    elif isinstance(size, int):
        s = size / max(h, w)
        out = (max(1, round(h * s)), max(1, round(w * s)))
    else:
        out = tuple(size)
    if out == (h, w):
        return x
    return F.interpolate(x, size=out, mode="bilinear", align_corners=False, antialias=out[0] < h).clamp(0, 1)


def to_pil(x: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) in [0, 1] -> an 8-bit RGB PIL image."""
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    arr = (x.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(arr)


def save_image(x: torch.Tensor, path: str | Path, metadata: dict | None = None) -> Path:
    """Save (1, 3, H, W) in [0, 1] as PNG/JPEG. `metadata` (seed, configuration) goes into the PNG's
    text chunk "lecturekit" as JSON, and into a .json sidecar for other formats."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = to_pil(x)
    if metadata is not None and path.suffix.lower() == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_text("lecturekit", json.dumps(metadata, default=str))
        img.save(path, pnginfo=info)
    else:
        img.save(path)
        if metadata is not None:
            path.with_suffix(path.suffix + ".json").write_text(json.dumps(metadata, indent=2, default=str))
    return path


def read_metadata(path: str | Path) -> dict | None:
    """The configuration that `save_image` stored with an image, or None."""
    path = Path(path)
    sidecar = path.with_suffix(path.suffix + ".json")
    if sidecar.exists():
        return json.loads(sidecar.read_text())
    with Image.open(path) as img:
        text = getattr(img, "text", {}).get("lecturekit")
    return json.loads(text) if text else None


def image_bytes(x: torch.Tensor, fmt: str = "png") -> bytes:
    """Encode (1, 3, H, W) in [0, 1] as PNG/JPEG bytes (for widgets)."""
    buf = io.BytesIO()
    to_pil(x).save(buf, format=fmt.upper())
    return buf.getvalue()


def save_gif(frames: list[torch.Tensor], path: str | Path, milliseconds: int = 120, loop: int = 0) -> Path:
    """Save frames (each (1, 3, H, W) in [0, 1]) as an animated GIF."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [to_pil(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=milliseconds, loop=loop)
    return path
