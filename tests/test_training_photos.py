"""tools/training_photos.py without apt: hashing, registry exclusion, preparing a folder (seconds)."""
import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import training_photos as tp  # noqa: E402


def _photo(seed: int, size=(480, 360)) -> Image.Image:
    """A smooth random picture (blurred noise in colour), unlike any other seed's."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(small, "RGB").resize(size, Image.BICUBIC)


def test_dhash_finds_a_resized_copy_and_tells_pictures_apart():
    a = _photo(1, (1200, 900))
    assert tp.near(tp.dhash(a), tp.dhash(a.resize((400, 300), Image.LANCZOS)))
    assert not tp.near(tp.dhash(a), tp.dhash(_photo(2, (1200, 900))))


def test_every_registry_entry_is_excluded():
    rows = tp.registry_rows()
    keys = tp.registry_keys(rows)
    for r in rows:                                       # each entry, by its file name and its name
        assert tp.is_registry_image(r["file"].split(":", 1)[-1], keys), r["name"]
        assert tp.is_registry_image(r["name"] + ".png", keys), r["name"]
    for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "grace_hopper.jpg",
                 "hubble_deep_field.jpg", "/usr/share/doc/opencv-doc/examples/data/starry_night.jpg"):
        assert tp.is_registry_image(name, keys), name
    assert not tp.is_registry_image("camera.png", keys)


def test_prepare_writes_photos_and_sources(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _photo(1, (1600, 1200)).save(src / "big.jpg")
    _photo(1, (800, 600)).save(src / "big_small_copy.png")          # the same wallpaper, smaller
    _photo(3, (500, 700)).convert("L").save(src / "grey.png")        # grey -> RGB
    _photo(4, (40, 30)).save(src / "tiny.jpg")                      # too small
    _photo(5, (640, 480)).save(src / "starry_night.jpg")             # a registry name
    registry = [{"name": "starry_night", "file": "starry_night.jpg"},
                {"name": "look_alike", "file": "look_alike.jpg"}]
    cands = [tp.Candidate("pkg-a", src / n, f"/usr/share/backgrounds/{n}", "landscapes", "CC0", "1.0")
             for n in ("big.jpg", "big_small_copy.png", "grey.png", "tiny.jpg", "starry_night.jpg")]
    out = tmp_path / "out"
    rows = tp.prepare(cands, out, short_side=96, registry=registry, log=lambda *a: None)

    assert [r["file"] for r in rows] == ["pkg-a__big.jpg", "pkg-a__grey.jpg"]
    for r in rows:
        im = Image.open(out / r["file"])
        assert im.mode == "RGB" and min(im.size) == 96
    with open(out / "SOURCES.tsv", newline="") as f:
        table = list(csv.DictReader(f, delimiter="\t"))
    assert table == rows
    assert table[0]["original_path"] == "/usr/share/backgrounds/big.jpg" and table[0]["licence"] == "CC0"

    from lecturekit.fast.data import folder_images                  # the trainer's loader reads it
    images = folder_images(out, max_size=128)
    assert len(images) == 2 and images[0].shape[1] == 3


def test_dep5_licence_takes_the_last_matching_stanza(tmp_path):
    f = tmp_path / "copyright"
    f.write_text("Format: x\n\nFiles: *\nCopyright: a\nLicense: GPL-2+\n\n"
                 "Files: 16.04/Bridge.jpg\n       16.04/Other.jpg\nCopyright: b\nLicense: CC-BY-SA-4.0\n")
    assert tp.dep5_licence(f, "/usr/share/backgrounds/Bridge.jpg") == "CC-BY-SA-4.0"
    assert tp.dep5_licence(f, "/usr/share/backgrounds/Else.jpg") == "GPL-2+"


def test_opaque_band_keeps_only_the_ground_of_a_panorama(tmp_path):
    rgba = np.zeros((40, 80, 4), np.uint8)
    rgba[..., :3] = 120
    rgba[25:, :, 3] = 255              # ground: opaque from row 25 down
    rgba[10:25, :40, 3] = 255          # a hill on the left half only: not a full row
    Image.fromarray(rgba, "RGBA").save(tmp_path / "pano.png")
    band = tp.load_opaque_band(tmp_path / "pano.png")
    assert band.mode == "RGB" and band.size == (80, 15)
