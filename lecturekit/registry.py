"""The registry of the lessons' named images: where each file is, its checksum and its credit.

The registry is `lecturekit/assets/registry.tsv`, inside the package (read with importlib.resources, so an
installed wheel has it too): (name, file, sha256, url, title, creator, year, license, role, source).
- source "manifest": public-domain paintings and photos. The file is looked up in the folder named by
  LECTUREKIT_DATA, then in the user cache; otherwise it is downloaded once with pooch and checked against
  its sha256.
- source "package": images that ship inside installed packages (matplotlib, scikit-image); no network.

This module only finds files; it never decodes images, so `lecturekit.images` can use it without a
cycle. `lecturekit.data` re-exports it and adds `load(name)`.
"""
from __future__ import annotations

import csv
import hashlib
from importlib import resources
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REGISTRY_FILE", "Entry", "UnknownImageError", "registry", "names", "entry", "cache_dir", "sha256",
           "path", "fetch_url", "credit"]

REGISTRY_FILE = resources.files("lecturekit") / "assets" / "registry.tsv"


class UnknownImageError(KeyError):
    """A name that is not in the image registry; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    name: str
    file: str
    sha256: str
    url: str
    title: str
    creator: str
    year: str
    license: str
    role: str
    source: str

    @property
    def credit(self) -> str:
        licence = self.license.split("; fetch from source")[0]  # drop the manifest's note for developers
        return f"{self.title} ({self.creator}, {self.year}; licence {licence})" if "not stated" in licence \
            else f"{self.title} ({self.creator}, {self.year}; {licence})"


def registry() -> dict[str, Entry]:
    """All registered images by name."""
    with REGISTRY_FILE.open("r", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return {r["name"]: Entry(**r) for r in rows}


def names(role: str | None = None) -> list[str]:
    """Registered names, optionally only one role ("content", "style", "texture")."""
    return [n for n, e in registry().items() if role is None or e.role == role]


def entry(name: str) -> Entry:
    """The registry entry of `name`; an unknown name raises UnknownImageError (a KeyError) listing the known."""
    reg = registry()
    if name not in reg:
        raise UnknownImageError(f"No image named {name!r} in the registry. Known names: {', '.join(reg)}")
    return reg[name]


def cache_dir() -> Path:
    """The user cache for downloaded images (LECTUREKIT_CACHE, else ~/.cache/lecturekit)."""
    return Path(os.environ.get("LECTUREKIT_CACHE", Path.home() / ".cache" / "lecturekit"))


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _package_file(spec: str) -> Path:
    package, file = spec.split(":", 1)
    if package == "matplotlib":
        import matplotlib
        return Path(matplotlib.get_data_path()) / "sample_data" / file
    if package == "skimage":
        import skimage
        return Path(skimage.__file__).parent / "data" / file
    raise ValueError(f"Unknown image package {package!r}")


def path(name: str) -> Path:
    """Local path of registered image `name`, fetching and verifying it once if need be."""
    e = entry(name)
    if e.source == "package":
        return _package_file(e.file)
    folders = [Path(os.environ["LECTUREKIT_DATA"])] if os.environ.get("LECTUREKIT_DATA") else []
    folders.append(cache_dir())
    for folder in folders:
        candidate = folder / e.file
        if candidate.exists():
            if sha256(candidate) != e.sha256:
                raise ValueError(f"{candidate} does not match the registered sha256 of {name!r}; "
                                 "delete it and fetch it again.")
            return candidate
    return _download(e)


def _download(e: Entry) -> Path:
    import pooch
    try:
        return Path(pooch.retrieve(e.url, known_hash=f"sha256:{e.sha256}", fname=e.file,
                                   path=cache_dir(), progressbar=False))
    except Exception as err:  # network errors come in many types
        raise FileNotFoundError(
            f"Image {e.name!r} ({e.file}) is not on this machine and could not be downloaded ({err}). "
            f"Put the file in the folder named by LECTUREKIT_DATA or in {cache_dir()}, "
            f"or fetch it from {e.url}.") from None


def fetch_url(url: str) -> Path:
    """Download an arbitrary image URL once into the cache and return its path."""
    import pooch
    try:
        return Path(pooch.retrieve(url, known_hash=None, path=cache_dir() / "urls", progressbar=False))
    except Exception as err:
        raise FileNotFoundError(f"Could not download {url} ({err}). Save the image and pass its path.") from None


def credit(*names_: str) -> str:
    """Credit lines for the given images: title (creator, year; licence)."""
    return "\n".join(f"- {entry(n).credit}" for n in names_)
