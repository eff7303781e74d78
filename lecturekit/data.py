"""The named images of the lessons, with their credits.

The registry is `lecturekit/assets/registry.tsv` (name, file, sha256, url, title, creator, year, license, role, source).
- source "manifest": public-domain paintings and photos. The file is looked up in the folder named by
  LECTUREKIT_DATA, then in the user cache; otherwise it is downloaded once with pooch and checked against
  its sha256.
- source "package": images that ship inside installed packages (matplotlib, scikit-image); no network.
The lookup lives in `lecturekit.registry` (which decodes nothing); this module re-exports it and adds `load`.

    >>> import lecturekit as lk
    >>> x = lk.data.load("tubingen", max_size=256)
    >>> print(lk.data.credit("tubingen"))
"""
from __future__ import annotations

from .registry import (REGISTRY_FILE, Entry, UnknownImageError, cache_dir, credit, entry, fetch_url, names,
                       path, registry, sha256)

__all__ = ["REGISTRY_FILE", "Entry", "UnknownImageError", "registry", "names", "entry", "cache_dir", "sha256",
           "path", "fetch_url", "credit", "load"]


def load(name: str, max_size: int | None = None):
    """Registered image `name` as a tensor (1, 3, H, W) in [0, 1]."""
    from .images import load_image
    return load_image(path(name), max_size=max_size)

