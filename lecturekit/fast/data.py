"""The training photos of the feed-forward nets: random square crops, batch after batch."""
from __future__ import annotations

import random
from pathlib import Path

import torch

from ..images import load_image, resize

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class CropDataset:
    """Random square crops (with random scale and horizontal flips) of a list of images."""

    def __init__(self, images: list[torch.Tensor], size: int, seed: int = 0):
        self.images = [self._fit(im, size) for im in images]
        self.size = size
        self.rng = random.Random(seed)

    @staticmethod
    def _fit(im: torch.Tensor, size: int) -> torch.Tensor:
        """Cap the long side at max(512, 2·size) (never enlarging), then make the short side >= size."""
        im = resize(im, min(max(im.shape[-2:]), max(512, 2 * size)))
        short = min(im.shape[-2:])
        return im if short >= size else resize(im, scale=size / short + 1e-3)

    def sample(self, batch: int) -> torch.Tensor:
        """(batch, 3, size, size) in [0, 1]."""
        out = []
        for _ in range(batch):
            im = self.rng.choice(self.images)
            side = self.rng.randint(self.size, min(im.shape[-2:]))
            y = self.rng.randint(0, im.shape[-2] - side)
            x = self.rng.randint(0, im.shape[-1] - side)
            crop = resize(im[..., y:y + side, x:x + side], (self.size, self.size))
            out.append(crop.flip(-1) if self.rng.random() < 0.5 else crop)
        return torch.cat(out)


def default_training_images(max_size: int = 512) -> list[torch.Tensor]:
    """The images that ship with installed packages plus the registry's content photos."""
    from .. import data
    images = []
    for name in data.names():
        e = data.entry(name)
        if e.role == "content" or e.source == "package":
            try:
                images.append(load_image(data.path(name), max_size=max_size))
            except (FileNotFoundError, ValueError):
                continue
    return images


def folder_images(folder: str | Path, max_size: int = 512, limit: int | None = None) -> list[torch.Tensor]:
    """Every image file in `folder` (recursively), loaded at most `max_size` px."""
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {folder}")
    return [load_image(p, max_size=max_size) for p in files[:limit]]


def batches(content, size: int, batch_size: int, seed: int, device):
    """An endless iterator of (batch_size, 3, size, size) random crops of the training images.

    content: a folder, a list of image tensors, or None for `default_training_images()`.
    """
    images = (folder_images(content) if isinstance(content, (str, Path)) else
              list(content) if content is not None else default_training_images())
    data = CropDataset(images, size, seed=seed)
    while True:
        yield data.sample(batch_size).to(device)
