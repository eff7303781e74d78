"""Loading and saving images as tensors of shape (1, 3, H, W) with values in [0, 1]."""
from __future__ import annotations

import contextlib
import io
import json
import math
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFile, ImageOps, PngImagePlugin, UnidentifiedImageError

from .checks import check_output_path, save_extensions, sidecar_path  # noqa: F401  (re-exported)
from .color import rgb_to_ycc, ycc_to_rgb

ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_SIDE = 4096  # larger images are downscaled, with a notice, instead of exhausting memory
MAX_PIXELS = 89_478_485  # PIL's default limit (~0.27 GB as RGB): larger decodes are refused before they start
_SHRINKABLE = ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F")  # modes PIL resizes by averaging
_OPEN_LOCK = threading.Lock()


class ImageLoadError(ValueError):
    """An image that cannot be read: missing, not an image, truncated, corrupt or too many pixels."""


def load_image(src, max_size: int | None = None) -> torch.Tensor:
    """Any image source -> float tensor (1, 3, H, W), values in [0, 1].

    Args:
        src: a path, an http(s) URL, a registered image name (`lk.data.names()`), encoded bytes, a binary
            file object, a PIL image, a numpy array ((H, W) or (H, W, C), uint8/uint16/float in [0, 1])
            or a tensor ((3, H, W), (1, 3, H, W) or (H, W)).
        max_size: if given, the longest side is scaled down to at most this many pixels.

    Files are decoded near the size needed (a JPEG at 1/2, 1/4 or 1/8 scale) and shrunk before they
    become floats; one whose decoded size would exceed MAX_PIXELS raises ImageLoadError, naming it and
    its pixel count, before it is decoded. EXIF orientation is applied; grayscale, palette, CMYK and
    16-bit images become RGB; transparency is composited on white. Images with a side over MAX_SIDE are
    downscaled with a warning.
    """
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1):
        raise ValueError(f"max_size must be a whole number of pixels of at least 1, or None; got {max_size!r}.")
    max_size = _test_cap(max_size)
    if isinstance(src, torch.Tensor):
        x = _tensor_to_batch(src)
    elif isinstance(src, np.ndarray):
        x = _array_to_tensor(src)
    elif isinstance(src, Image.Image):
        x = _pil_to_tensor(src)
    else:
        fp, name = _source(src)
        img, max_size = _decode(fp, name, max_size)
        return resize_max(_pil_to_tensor(img, name=name), max_size)
    return resize_max(x, max_size, warn_over=MAX_SIDE)


def _test_cap(size: int | None) -> int | None:
    """`size`, lowered to the test mode's cap (`utils.test_size()`) when that is on."""
    from .utils import test_size
    cap = test_size()
    return size if cap is None else min(size or cap, cap)


def test_shape(shape: tuple[int, int]) -> tuple[int, int]:
    """(H, W), scaled down to the test mode's cap (`utils.test_size()`) when that is on and it is larger."""
    cap = _test_cap(max(shape))
    return shape if cap >= max(shape) else tuple(max(1, round(d * cap / max(shape))) for d in shape)


def _source(src) -> tuple[object, str]:
    """(what Image.open reads, a name for messages) for a path, URL, registered name, bytes or file object."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        return io.BytesIO(data), f"the given bytes ({len(data)} bytes)"
    if isinstance(src, io.TextIOBase):
        raise TypeError("load_image needs a file opened in binary mode (open(path, 'rb')), not text mode.")
    if hasattr(src, "read"):
        return src, str(getattr(src, "name", "the given file object"))
    if isinstance(src, (str, Path)):
        path = _resolve(src)
        return path, str(path)
    raise TypeError("load_image takes a path, URL, registered image name, bytes, a binary file object, a PIL "
                    f"image, a numpy array or a tensor, not {type(src).__name__}")


def _resolve(src: str | Path) -> Path:
    """Local file of a path, an http(s) URL (downloaded once) or a registered image name."""
    text = str(src)
    if text.startswith(("http://", "https://")):
        from .registry import fetch_url
        return fetch_url(text)
    path = Path(src).expanduser()
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file.")
    if path.exists():
        return path
    from . import registry
    if isinstance(src, str) and text in registry.registry():
        return registry.path(text)
    raise ImageLoadError(f"Image file not found: {path}. Give an existing file, an http(s) URL or a "
                         f"registered image name ({', '.join(registry.names())}).")


def _decode(fp, name: str, max_size: int | None) -> tuple[Image.Image, int | None]:
    """Decode near the needed size; returns the image and the longest side the result must be cut to."""
    try:
        with open(fp, "rb") if isinstance(fp, Path) else contextlib.nullcontext(fp) as f:
            img = _open_unchecked(f)
            full = img.size
            target = _capped(full, max_size, MAX_SIDE)
            if target is not None and max(full) > target:
                img.draft("RGB", tuple(math.ceil(d * target / max(full)) for d in full))  # JPEG only
            _check_pixels(name, full, img.size)
            if target != max_size:
                _warn_downscaled(full, target)
            img.load()  # decode now, so a truncated file fails here with its name
        ImageOps.exif_transpose(img, in_place=True)
        return _shrink(img, target), target
    except ImageLoadError:
        raise
    except PermissionError as e:
        raise ImageLoadError(f"{name} cannot be read: {e.strerror}.") from None
    except UnidentifiedImageError as e:
        raise ImageLoadError(f"{name} is not an image file PIL can read (JPEG, PNG, ...).") from e
    except Image.DecompressionBombError as e:
        raise ImageLoadError(f"{name} has too many pixels to decode safely ({e}). Pass a smaller image.") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"{name} is truncated or corrupt and cannot be decoded ({e}). "
                             "Download it again.") from e


def _open_unchecked(fp) -> Image.Image:
    """Image.open (reads the header only) without PIL's pixel limit, which judges the full size:
    `_check_pixels` judges the size that will really be decoded (a JPEG at 1/8 scale has 64x fewer)."""
    with _OPEN_LOCK:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(fp)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_pixels(name: str, full: tuple[int, int], decoded: tuple[int, int]) -> None:
    """ImageLoadError naming the file and its pixel count if decoding `decoded` (W, H) exceeds MAX_PIXELS."""
    w, h = decoded
    if w * h <= MAX_PIXELS:
        return
    mpx = f"{full[0]}x{full[1]} = {full[0] * full[1] / 1e6:.0f} Mpx"
    if decoded != full:
        mpx += f" (still {w}x{h} = {w * h / 1e6:.0f} Mpx at the smallest JPEG decoding scale)"
    raise ImageLoadError(f"{name} has {mpx}, more than the {MAX_PIXELS / 1e6:.0f} Mpx limit that can be decoded "
                         f"safely (about {w * h * 4 / 1e9:.1f} GB). Pass a smaller image: downscale it first.")


def _shrink(img: Image.Image, max_size: int | None) -> Image.Image:
    """Scale a decoded image down, in PIL, to the size `resize_max` would give (antialiased bilinear).

    Done on 8-bit pixels, this spares the float copy of the full-size image; modes PIL cannot average
    (palette, 16-bit) are left to `resize_max`.
    """
    w, h = img.size
    if max_size is None or max(w, h) <= max_size or img.mode not in _SHRINKABLE:
        return img
    s = max_size / max(w, h)
    return img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR, reducing_gap=3.0)


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
    arr = _array_in_unit_range(arr)
    if arr.shape[2] == 4:
        alpha = arr[..., 3:]
        arr = arr[..., :3] * alpha + (1 - alpha)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return torch.from_numpy(np.clip(arr, 0, 1)).permute(2, 0, 1)[None].contiguous()


def _array_in_unit_range(arr: np.ndarray) -> np.ndarray:
    """float32 values in [0, 1]: 8-bit and 16-bit pixel values (any integer dtype) are scaled, not clipped;
    a float array must already be in [0, 1] (ValueError naming its range otherwise); NaN is refused."""
    if arr.dtype == bool:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        low, high = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if low < 0 or high > 65535:
            raise ValueError(f"An integer image must hold pixel values 0..255 or 0..65535; this one spans "
                             f"{low}..{high}.")
        wide = arr.dtype == np.uint16 or (arr.dtype != np.uint8 and high > 255)  # 16-bit pixel values
        return arr.astype(np.float32) / (65535.0 if wide else 255.0)
    arr = arr.astype(np.float32)
    if np.isnan(arr).any():
        raise ValueError("The image array contains NaN values.")
    low, high = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if low < -1e-3 or high > 1 + 1e-3:
        hint = " It looks like 0..255 pixel values: pass arr.astype('uint8') or arr / 255." if high <= 255 else ""
        raise ValueError(f"A float image array must have values in [0, 1]; this one spans "
                         f"[{low:.4g}, {high:.4g}].{hint}")
    return arr


def _tensor_to_batch(t: torch.Tensor) -> torch.Tensor:
    if not t.is_floating_point():
        t = torch.from_numpy(_array_in_unit_range(t.detach().cpu().numpy()))
    if torch.isnan(t).any():
        raise ValueError("The image tensor contains NaN values.")
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
    capped = _capped((x.shape[-1], x.shape[-2]), max_size, warn_over)
    if capped != max_size:
        _warn_downscaled((x.shape[-1], x.shape[-2]), capped)
    if capped is None or longest <= capped:
        return x
    return resize(x, scale=capped / longest)


def _capped(size: tuple[int, int], max_size: int | None, cap: int | None) -> int | None:
    """max_size, lowered to `cap` when an image of `size` (W, H) is larger than that."""
    if cap and max(size) > cap and (max_size is None or max_size > cap):
        return cap
    return max_size


def _warn_downscaled(size: tuple[int, int], cap: int) -> None:
    warnings.warn(f"Image of {size[0]}x{size[1]} px is larger than {cap} px; "
                  f"downscaling it to {cap} px to save memory (pass max_size to choose).")


def resize(x: torch.Tensor, size: int | tuple[int, int] | None = None, scale: float | None = None, *,
           clamp: bool = True) -> torch.Tensor:
    """Antialiased bilinear resize of (N, C, H, W) (antialiasing only when shrinking).

    `size` as an int sets the longest side (aspect kept); as (H, W) it sets both; `scale` multiplies both.
    The result is clamped to [0, 1] unless clamp=False (for differences of images, which may be < 0).
    """
    h, w = x.shape[-2:]
    if scale is not None:
        out = (max(1, round(h * scale)), max(1, round(w * scale)))
    elif isinstance(size, int):
        s = _test_cap(size) / max(h, w)
        out = (max(1, round(h * s)), max(1, round(w * s)))
    else:
        out = tuple(size)
    if out == (h, w):
        return x
    y = F.interpolate(x, size=out, mode="bilinear", align_corners=False, antialias=out[0] < h)
    return y.clamp(0, 1) if clamp else y


def enlarge(x: torch.Tensor, size: tuple[int, int], chroma_only: bool = False) -> torch.Tensor:
    """A coarse stage's picture (N, 3, h, w) in [0, 1] at a finer stage's (H, W): bilinear, then a Gaussian
    of σ = half the enlargement factor (px), which takes out what bilinear enlargement adds above the
    coarse picture's own finest detail. Without it a 2× enlargement leaves pairs of alike pixels that the
    finer stage does not repaint: on the 256 px textures the differences across odd columns stayed
    1.2–1.6× those across even ones (1.1–1.2× after), a 2 px grid seen zoomed in.

    chroma_only: blur the two chroma channels (B − Y, R − Y) and keep the bilinear luminance, for a finer
    stage that repaints the luminance and keeps the colours (style transfer's last stage): a 205 px
    picture's colours enlarged 2.5× keep its pixel steps, which the last stage cannot change."""
    factor = max(size[0] / x.shape[-2], size[1] / x.shape[-1])
    y = resize(x, tuple(size))
    if factor <= 1:
        return y
    if not chroma_only:
        return gaussian_blur(y, factor / 2)
    ycc = rgb_to_ycc(y)
    return ycc_to_rgb(torch.cat([ycc[:, :1], gaussian_blur(ycc[:, 1:], factor / 2)], 1)).clamp(0, 1)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, C, H, W) blurred by a Gaussian of `sigma` px (separable, 3σ wide, edges reflected)."""
    r = min(math.ceil(3 * sigma), x.shape[-2] - 1, x.shape[-1] - 1)
    if sigma <= 0 or r < 1:
        return x
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t**2 / (2 * sigma**2))
    k = (k / k.sum()).expand(x.shape[1], 1, -1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k[..., None, :], groups=x.shape[1])
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k[..., :, None], groups=x.shape[1])


def to_pil(x: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) in [0, 1] -> an 8-bit RGB PIL image."""
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    arr = (x.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(arr)


def save_image(x: torch.Tensor, path: str | Path, metadata: dict | None = None) -> Path:
    """Save (1, 3, H, W) in [0, 1] as PNG/JPEG/... (see `save_extensions`). `metadata` (seed,
    configuration) goes into the PNG's text chunk "lecturekit" as JSON, and into a .json sidecar for
    other formats. A bad extension or folder raises ValueError (see `check_output_path`)."""
    from .utils import atomic_path
    path = check_output_path(path)
    if torch.isnan(x).any():
        raise ValueError(f"Not saving {path}: the image contains NaN values (the computation diverged).")
    path.parent.mkdir(parents=True, exist_ok=True)
    img = to_pil(x)
    png = path.suffix.lower() == ".png"
    info = PngImagePlugin.PngInfo()
    if metadata is not None and png:
        info.add_text("lecturekit", json.dumps(metadata, default=str))
    with atomic_path(path) as tmp:  # never a half-written picture, even when killed mid-save
        img.save(tmp, pnginfo=info) if png else img.save(tmp)
    if metadata is not None and not png:
        with atomic_path(sidecar_path(path)) as tmp:
            tmp.write_text(json.dumps(metadata, indent=2, default=str))
    return path


def read_metadata(path: str | Path) -> dict | None:
    """The configuration that `save_image` stored with an image, or None."""
    path = Path(path)
    sidecar = sidecar_path(path)
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
