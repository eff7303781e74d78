"""Fetch and prepare the training photos of the fast style networks (issue 21).

    python tools/training_photos.py                    # -> ~/.cache/lecturekit/training_photos/
    python tools/training_photos.py --out DIR --short-side 320
    python tools/training_photos.py --no-apt           # only what the Python packages ship

Then train on the folder: `lecturekit.fast.data.folder_images(DIR)` (or `content=DIR`) loads it.

Where the photos come from
--------------------------
* Debian packages (bookworm): each is fetched with `apt-get download` and unpacked with `dpkg -x` into a
  cache folder (LECTUREKIT_CACHE or ~/.cache/lecturekit, then `training_photos_src/`), so nothing is
  installed on the system and no root is needed; a package that is already installed is read from `/`.
  Without apt-get the script says which packages to get and carries on with the rest.
  Only the files in `DEBIAN_PHOTOS` are taken: every image of the candidate packages was looked at on a
  contact sheet, and abstract, vector, gradient, rendered, logo and screenshot images were left out.
  Looked at and giving no photo at all: gnome-backgrounds (43), sway-backgrounds, ukui-wallpapers,
  lomiri-wallpapers (base), xfdesktop4-data, desktop-base, debian-edu-artwork, fvwm-crystal (icons).
  From stellarium-data's horizon panoramas only the real photos: their transparent sky is composited on
  white, and for the Mars and Apollo 17 panoramas (half sky) only the opaque band of ground is kept.
* scikit-image's bundled data (`skimage/data/`): the real photos only, not the synthetic ones.
* matplotlib's sample data: its one photo (grace_hopper.jpg) is a notebook image, so it gives none.

No image shown in a notebook is trained on: every entry of `lecturekit/assets/registry.tsv` (the
paintings, the content photos such as tubingen, and the package images astronaut, chelsea, coffee,
rocket, brick, grass, gravel, hubble_deep_field, grace_hopper) is excluded, by its library:file name,
by its file stem (OpenCV's samples ship starry_night.jpg, for one), and by a perceptual hash of every
registry image found on this machine (so a copy under another name is caught too).

What is written
---------------
OUT/<package>__<name>.jpg: RGB, EXIF-upright, the short side `--short-side` px (default 320; a photo
more than 25 % smaller than that is skipped rather than blown up), JPEG quality 92; near-identical
images (the same wallpaper at several resolutions) are kept once, by a 256-bit difference hash.
OUT/SOURCES.tsv: file, package, version, original path, licence (from the package's
/usr/share/doc/<package>/copyright, or the upstream notice where Debian's file says nothing about the
image), category. The photos are not committed to the repository; data/README.md lists the sources.
"""
from __future__ import annotations

import argparse
import bz2
import csv
import fnmatch
import io
import os
import pickle
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
REGISTRY_TSV = ROOT / "lecturekit" / "assets" / "registry.tsv"
SHORT_SIDE = 320
MIN_FRACTION = 0.75       # a source whose short side is below this fraction of --short-side is skipped
HASH_SIZE = 16            # 16x16 difference hash: 256 bits
NEAR = 0.12               # at most this fraction of differing bits: the same picture

# Debian packages and the photos in them: (glob below the unpacked root, category).
_SAMPLES = "usr/share/doc/opencv-doc/examples"
DEBIAN_PHOTOS: dict[str, list[tuple[str, str]]] = {
    "lomiri-wallpapers-16.04": [(f"usr/share/backgrounds/{f}", c) for f, c in [
        ("Bridge_by_Sander_Klootwijk.jpg", "buildings"), ("Dragonfly_by_Bolly.jpg", "plants"),
        ("Picture_0B_by_freespace.jpg", "objects"), ("Picture_1A_by_freespace.jpg", "objects"),
        ("Wine_by_Jakkub_Mede.jpg", "indoors"), ("aitzgorri_by_Aitzol_Berasategi.jpg", "landscapes"),
        ("free_by_Peter_Nerlich.jpg", "animals"), ("friends_by_Aitzol_Berasategi.jpg", "animals"),
        ("greentock_by_Peter_Nerlich.jpg", "objects"), ("life_by_Aitzol_Berasategi.jpg", "landscapes"),
        ("picosdeeuropa_by_Aitzol_Berasategi.jpg", "landscapes"),
        ("seeding_by_Clements_Engelhardt.jpg", "plants"), ("sunset_by_Aitzol_Berasategi.jpg", "landscapes")]],
    "lomiri-wallpapers-20.04": [("usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg", "landscapes"),
                                ("usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg", "animals")],
    "mate-backgrounds": [(f"usr/share/backgrounds/mate/nature/{f}.jpg", c) for f, c in [
        ("Aqua", "objects"), ("Blinds", "plants"), ("Dune", "landscapes"), ("FreshFlower", "plants"),
        ("Garden", "plants"), ("GreenMeadow", "plants"), ("LadyBird", "animals"), ("RainDrops", "plants"),
        ("Storm", "landscapes"), ("TwoWings", "plants"), ("Wood", "objects"), ("YellowFlower", "plants")]],
    "plasma-workspace-wallpapers": [(f"usr/share/wallpapers/{f}/contents/images/*", c) for f, c in [
        ("BytheWater", "landscapes"), ("ColdRipple", "landscapes"), ("ColorfulCups", "objects"),
        ("DarkestHour", "landscapes"), ("EveningGlow", "landscapes"), ("FallenLeaf", "plants"),
        ("Grey", "buildings"), ("Kite", "landscapes"), ("OneStandsOut", "plants"), ("Path", "landscapes"),
        ("summer_1am", "landscapes")]],
    "lxqt-themes": [(f"usr/share/lxqt/wallpapers/{f}", c) for f, c in [
        ("Butterfly-Kenneth-Wimer.jpg", "animals"), ("Valendas.png", "landscapes"),
        ("after-the-rain.jpg", "landscapes"), ("appleflower.png", "plants"), ("beam.png", "landscapes"),
        ("butterfly.png", "animals"), ("cloud.png", "landscapes"), ("drop.png", "plants"),
        ("flowers.png", "plants"), ("fog.jpg", "landscapes"), ("this-is-not-windows.jpg", "landscapes")]],
    "opencv-doc": [(f"{_SAMPLES}/{f}", c) for f, c in [
        ("data/aero1.jpg", "landscapes"), ("data/aero3.jpg", "landscapes"), ("data/aloeL.jpg", "plants"),
        ("data/apple.jpg", "objects"), ("data/baboon.jpg", "animals"), ("data/basketball1.png", "people"),
        ("data/board.jpg", "objects"), ("data/box_in_scene.png", "objects"), ("data/building.jpg", "buildings"),
        ("data/butterfly.jpg", "animals"), ("data/chicky_512.png", "animals"), ("data/ela_original.jpg", "objects"),
        ("data/fruits.jpg", "objects"), ("data/graf1.png", "buildings"), ("data/graf3.png", "buildings"),
        ("data/home.jpg", "buildings"), ("data/left.jpg", "indoors"), ("data/leuvenA.jpg", "buildings"),
        ("data/leuvenB.jpg", "buildings"), ("data/messi5.jpg", "people"), ("data/orange.jpg", "objects"),
        ("data/rubberwhale1.png", "indoors"), ("data/squirrel_cls.jpg", "animals"), ("data/stuff.jpg", "objects"),
        ("alphamat/input_images/plant.jpg", "indoors"), ("hfs/data/000.jpg", "animals"),
        ("hfs/data/001.jpg", "landscapes"), ("hfs/data/002.jpg", "landscapes")]]
        + [(f"{_SAMPLES}/text/scenetext0{i}.jpg", "buildings") for i in range(1, 7)],
    "imagemagick-6-doc": [("usr/share/doc/imagemagick-6-common/html/images/bluebells_lin.jpg", "plants")],
    "qtbase5-examples": [(f"usr/lib/*/qt5/examples/widgets/{f}", c) for f, c in [
        ("graphicsview/weatheranchorlayout/images/place.jpg", "landscapes"),
        ("painting/affine/bg1.jpg", "landscapes"), ("painting/composition/flower.jpg", "plants")]],
    "python3-sklearn": [("usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg", "buildings"),
                        ("usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg", "plants")],
    # Stellarium's landscape photos (the horizon panoramas; their transparent sky composited on white).
    "stellarium-data": [(f"usr/share/stellarium/landscapes/{f}", c) for f, c in [
        ("garching/garching-gl[1-4].png", "plants"), ("hurricane/hurricane1.png", "landscapes"),
        ("guereins/guereins1.png", "landscapes"), ("mars/mars.png", "landscapes"),
        ("moon/apollo17.png", "landscapes")]],
    "python3-scipy": [("usr/lib/python3/dist-packages/scipy/misc/face.dat", "animals"),
                      ("usr/lib/python3/dist-packages/scipy/misc/ascent.dat", "people")],
}

# Where Debian's copyright file does not name the image, the upstream notice (checked by hand).
LICENCE_NOTES: dict[str, str] = {
    "lxqt-themes": "CC-BY-SA-3.0 (usr/share/lxqt/wallpapers/License; by stefonarch, Kenneth Wimer)",
    "python3-sklearn": "CC-BY-2.0 (sklearn/datasets/images/README.txt: Flickr, danielbuechele / vultilion)",
    "imagemagick-6-doc": "ImageMagick License (Apache-2.0-style; imagemagick-6-common's copyright)",
    "python3-scipy:face.dat": "BSD-3-clause (scipy's Files: *; upstream: from public-domain-image.com)",
}

# scikit-image's real photos (the rest of skimage/data is synthetic, scientific or in the registry).
SKIMAGE_PHOTOS = {
    "camera.png": ("people", "CC0 (Lav Varshney; skimage.data.camera docstring)"),
    "coins.png": ("objects", "no known copyright restrictions (Brooklyn Museum; skimage.data.coins)"),
    "text.png": ("buildings", "public domain (Wikimedia File:Corner.png; skimage.data.text)"),
    # in the registry, so excluded below; listed to show that the exclusion works:
    "astronaut.png": ("people", "public domain"), "chelsea.png": ("animals", "CC0"),
    "coffee.png": ("objects", "CC0"), "rocket.jpg": ("objects", "public domain"),
    "hubble_deep_field.jpg": ("objects", "public domain"),
}
MATPLOTLIB_PHOTOS = {"grace_hopper.jpg": ("people", "public domain")}   # in the registry: excluded


@dataclass
class Candidate:
    package: str            # Debian package, or "scikit-image" / "matplotlib"
    path: Path              # the file as found on this machine
    original: str           # the path as the package installs it
    category: str = ""
    licence: str = ""
    version: str = ""
    load: Callable[[Path], Image.Image] | None = field(default=None, repr=False)

    @property
    def library_name(self) -> str:
        return self.path.name


# ---------------------------------------------------------------- registry exclusion
def registry_rows(tsv: Path = REGISTRY_TSV) -> list[dict]:
    with open(tsv, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def registry_keys(rows: list[dict]) -> set[str]:
    """Lower-case names a candidate must not have: each entry's name, file and file stem."""
    keys = set()
    for r in rows:
        for v in (r.get("name", ""), r.get("file", "")):
            v = v.strip().lower()
            if not v:
                continue
            keys.add(v)
            base = v.split(":", 1)[-1]          # "skimage:astronaut.png" -> "astronaut.png"
            keys.add(base)
            keys.add(Path(base).stem)
    keys.discard("")
    return keys


def is_registry_image(filename: str, keys: set[str]) -> bool:
    name = Path(filename).name.lower()
    return name in keys or Path(name).stem in keys


def registry_local_files(rows: list[dict]) -> list[Path]:
    """The registry images present on this machine (nothing is downloaded)."""
    out = []
    cache = Path(os.environ.get("LECTUREKIT_CACHE", Path.home() / ".cache" / "lecturekit"))
    folders = [Path(os.environ["LECTUREKIT_DATA"])] if os.environ.get("LECTUREKIT_DATA") else []
    folders.append(cache)
    for r in rows:
        f = r.get("file", "").strip()
        if f.startswith("skimage:"):
            d = _skimage_dir()
            cands = [d / f[8:]] if d else []
        elif f.startswith("matplotlib:"):
            d = _matplotlib_dir()
            cands = [d / f[11:]] if d else []
        else:
            cands = [folder / f for folder in folders]
        out += [p for p in cands if p.is_file()]
    return out


# ---------------------------------------------------------------- perceptual hash
def dhash(img: Image.Image, size: int = HASH_SIZE) -> np.ndarray:
    """A difference hash: (size*size,) bools, whether each pixel of a grey (size+1)x size thumbnail is
    brighter than its right neighbour. Survives resizing, recompression and small colour changes."""
    g = img.convert("L")
    g.draft("L", (4 * size, 4 * size))
    a = np.asarray(g.resize((size + 1, size), Image.BILINEAR), dtype=np.int16)
    return (a[:, 1:] > a[:, :-1]).ravel()


def near(h1: np.ndarray, h2: np.ndarray, tol: float = NEAR) -> bool:
    return np.count_nonzero(h1 != h2) <= tol * h1.size


# ---------------------------------------------------------------- loading and preparing
def _open(path: Path) -> Image.Image:
    im = Image.open(path)
    return im


def load_scipy_dat(path: Path) -> Image.Image:
    """scipy 1.10's misc/face.dat (bz2 of raw 768x1024x3 bytes) or misc/ascent.dat (a pickled list)."""
    if path.name == "face.dat":
        a = np.frombuffer(bz2.decompress(path.read_bytes()), dtype=np.uint8).reshape(768, 1024, 3)
        return Image.fromarray(a, "RGB")

    class _NoGlobals(pickle.Unpickler):         # plain lists of numbers only: no code is run
        def find_class(self, module, name):
            raise pickle.UnpicklingError(f"refusing {module}.{name} in {path}")
    a = np.array(_NoGlobals(io.BytesIO(path.read_bytes())).load(), dtype=np.float64)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")


# Panoramas whose upper half is transparent sky: only their opaque band is a photo.
OPAQUE_BAND = {"mars.png", "apollo17.png"}


def load_opaque_band(path: Path) -> Image.Image:
    """The rows of an image with transparency in which every pixel is opaque (a panorama's ground)."""
    im = Image.open(path)
    alpha = np.asarray(im.convert("RGBA"))[..., 3]
    rows = np.flatnonzero((alpha == 255).all(axis=1))
    if rows.size == 0:
        return im
    return im.crop((0, int(rows[0]), im.size[0], int(rows[-1]) + 1)).convert("RGB")


def to_rgb(im: Image.Image) -> Image.Image:
    """EXIF-upright RGB; transparency composited on white."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, im).convert("RGB")
    return im.convert("RGB")


def fit_short_side(im: Image.Image, short_side: int) -> Image.Image:
    w, h = im.size
    s = short_side / min(w, h)
    return im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)


def read_candidate(c: Candidate, short_side: int) -> Image.Image | None:
    """The candidate as RGB, short side `short_side`, or None if too small to use."""
    if c.load is not None:
        im = c.load(c.path)
    else:
        im = _open(c.path)
        if im.format == "JPEG":
            im.draft("RGB", (short_side * 2, short_side * 2))   # decode big JPEGs at 1/2..1/8 scale
    if min(im.size) < MIN_FRACTION * short_side:
        return None
    return fit_short_side(to_rgb(im), short_side)


def out_name(c: Candidate) -> str:
    stem = Path(c.original).stem
    if c.package == "plasma-workspace-wallpapers":               # .../<Name>/contents/images/WxH.jpg
        stem = Path(c.original).parts[-4]
    elif "/hfs/" in c.original or "/alphamat/" in c.original:
        stem = Path(c.original).parts[-3] + "_" + stem
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{c.package}__{stem}") + ".jpg"


def prepare(candidates: list[Candidate], out: Path, short_side: int = SHORT_SIDE,
            registry: list[dict] | None = None, log=print) -> list[dict]:
    """Write the photos and SOURCES.tsv into `out`; return the SOURCES rows.

    A candidate is dropped when its name is a registry image's, when it looks like a registry image,
    when it is too small, or when it looks like one kept before (the largest version of a picture is
    kept: candidates are taken most pixels first)."""
    rows_reg = registry_rows() if registry is None else registry
    keys = registry_keys(rows_reg)
    banned = []
    for p in registry_local_files(rows_reg):
        try:
            banned.append(dhash(_open(p)))
        except Exception:                                       # noqa: BLE001
            continue
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):                               # a rerun replaces the previous set
        old.unlink()

    def size_of(c: Candidate) -> int:                         # pixels (header only), else bytes
        try:
            if c.load is None:
                with Image.open(c.path) as im:
                    return im.size[0] * im.size[1]
            return c.path.stat().st_size
        except Exception:                                       # noqa: BLE001
            return 0
    kept: list[tuple[np.ndarray, dict]] = []
    for c in sorted(candidates, key=size_of, reverse=True):
        if is_registry_image(c.original, keys):
            log(f"  excluded (shown in a notebook): {c.package} {c.original}")
            continue
        try:
            im = read_candidate(c, short_side)
        except Exception as e:                                  # noqa: BLE001
            log(f"  unreadable, skipped: {c.path} ({e})")
            continue
        if im is None:
            log(f"  too small, skipped: {c.package} {c.original}")
            continue
        h = dhash(im)
        if any(near(h, b) for b in banned):
            log(f"  excluded (looks like a registry image): {c.package} {c.original}")
            continue
        dup = next((r for hh, r in kept if near(h, hh)), None)
        if dup is not None:
            log(f"  duplicate of {dup['file']}: {c.package} {c.original}")
            continue
        name = out_name(c)
        im.save(out / name, "JPEG", quality=92, optimize=True)
        kept.append((h, {"file": name, "package": c.package, "version": c.version,
                         "original_path": c.original, "licence": c.licence, "category": c.category}))
    rows = sorted((r for _, r in kept), key=lambda r: r["file"])
    with open(out / "SOURCES.tsv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["file", "package", "version", "original_path", "licence", "category"],
                           delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return rows


# ---------------------------------------------------------------- Debian packages
def dep5_licence(copyright_file: Path, installed_path: str) -> str:
    """The License of the last Files: stanza of a DEP-5 copyright file that matches the path (each
    pattern is tried against the path's tail, since upstream and installed paths differ)."""
    try:
        text = copyright_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    found = ""
    for stanza in re.split(r"\n\s*\n", text):
        m = re.search(r"^Files:(.*(?:\n[ \t].*)*)", stanza, re.M)
        lic = re.search(r"^License:[ \t]*(\S.*)$", stanza, re.M)
        if not m or not lic:
            continue
        for pat in m.group(1).split():
            base = pat.rsplit("/", 1)[-1]
            if (pat == "*" or fnmatch.fnmatch(installed_path, "*/" + pat) or fnmatch.fnmatch(installed_path, pat)
                    or ("*" not in base and "/" in pat and installed_path.rsplit("/", 1)[-1] == base)):
                found = lic.group(1).strip()
                break
    return found


def installed_version(pkg: str) -> str | None:
    if not shutil.which("dpkg-query"):
        return None
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", pkg], capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.startswith("install ok installed"):
        return r.stdout.split()[-1]
    return None


def unpack_package(pkg: str, cache: Path, log=print) -> tuple[Path, str] | None:
    """(root, version) of the package's files: `/` if installed, else downloaded and unpacked in the cache."""
    v = installed_version(pkg)
    if v is not None:
        return Path("/"), v
    root = cache / "pkgs" / pkg
    stamp = root / ".version"
    if stamp.is_file():
        return root, stamp.read_text().strip()
    if not (shutil.which("apt-get") and shutil.which("dpkg")):
        log(f"  {pkg}: no apt-get here; on Debian/Ubuntu run `apt-get download {pkg}` (or install it)")
        return None
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["apt-get", "download", pkg], cwd=debs, capture_output=True, text=True)
    found = sorted(debs.glob(f"{pkg}_*.deb"))
    if not found:
        log(f"  {pkg}: apt-get download failed ({r.stderr.strip().splitlines()[-1:] or r.returncode}); "
            "try `apt-get update` first")
        return None
    deb = found[-1]
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    version = deb.name.split("_")[1].replace("%3a", ":")
    stamp.write_text(version)
    deb.unlink()                                  # keep only what is unpacked
    return root, version


def debian_candidates(cache: Path, packages: list[str] | None = None, log=print) -> list[Candidate]:
    out = []
    for pkg, photos in DEBIAN_PHOTOS.items():
        if packages and pkg not in packages:
            continue
        got = unpack_package(pkg, cache, log)
        if got is None:
            continue
        root, version = got
        copyright_file = root / "usr/share/doc" / pkg / "copyright"
        n = 0
        for pattern, category in photos:
            for p in sorted(root.glob(pattern)):
                original = "/" + str(p.relative_to(root))
                licence = (LICENCE_NOTES.get(f"{pkg}:{p.name}") or LICENCE_NOTES.get(pkg)
                           or dep5_licence(copyright_file, original) or "see " + str(copyright_file))
                load = load_scipy_dat if p.suffix == ".dat" else load_opaque_band if p.name in OPAQUE_BAND else None
                out.append(Candidate(pkg, p, original, category, licence, version, load))
                n += 1
        if n == 0:
            log(f"  {pkg} {version}: none of the listed photos found")
    return out


# ---------------------------------------------------------------- Python packages
def _skimage_dir() -> Path | None:
    try:
        import skimage
    except ImportError:
        return None
    return Path(skimage.__file__).parent / "data"


def _matplotlib_dir() -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    return Path(matplotlib.get_data_path()) / "sample_data"


def python_candidates() -> list[Candidate]:
    out = []
    for lib, folder, photos in (("scikit-image", _skimage_dir(), SKIMAGE_PHOTOS),
                                ("matplotlib", _matplotlib_dir(), MATPLOTLIB_PHOTOS)):
        if folder is None:
            continue
        version = __import__("skimage" if lib == "scikit-image" else "matplotlib").__version__
        for name, (category, licence) in photos.items():
            p = folder / name
            if p.is_file():
                out.append(Candidate(lib, p, f"{lib}:{name}", category, licence, version))
    return out


# ---------------------------------------------------------------- main
def default_cache() -> Path:
    return Path(os.environ.get("LECTUREKIT_CACHE", Path.home() / ".cache" / "lecturekit"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=default_cache() / "training_photos",
                    help="output folder (default: %(default)s)")
    ap.add_argument("--src", type=Path, default=default_cache() / "training_photos_src",
                    help="where Debian packages are unpacked (default: %(default)s); keep it outside --out")
    ap.add_argument("--short-side", type=int, default=SHORT_SIDE, help="short side in px (default 320)")
    ap.add_argument("--no-apt", action="store_true", help="only the Python packages' photos")
    ap.add_argument("--packages", nargs="*", help="only these Debian packages")
    args = ap.parse_args(argv)
    if args.out.resolve() in args.src.resolve().parents or args.out.resolve() == args.src.resolve():
        ap.error("--src must not be inside --out (the training loader reads --out recursively)")

    cands = python_candidates()
    if not args.no_apt:
        cands += debian_candidates(args.src, args.packages)
    print(f"{len(cands)} candidate files; preparing into {args.out}")
    rows = prepare(cands, args.out, args.short_side)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["package"]] = counts.get(r["package"], 0) + 1
    print(f"\n{len(rows)} photos in {args.out} (SOURCES.tsv lists each):")
    for pkg, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        lic = sorted({r["licence"] for r in rows if r["package"] == pkg})
        print(f"  {n:3d}  {pkg:28s} {'; '.join(lic)}")
    if len(rows) < 100:
        print(f"\nnote: {len(rows)} < 100 photos; see data/README.md for what else was looked at.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
