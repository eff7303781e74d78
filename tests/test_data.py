import csv
import re
from pathlib import Path

import pytest

import lecturekit as lk
from lecturekit import data, registry

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT.parent / "shared" / "data" / "MANIFEST.tsv"


def test_registry_starts_with_the_manifest():
    if not MANIFEST.exists():
        pytest.skip("the shared manifest is not beside this checkout")
    with open(MANIFEST, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    reg = list(data.registry().values())
    for row, e in zip(rows, reg):
        assert (e.name, e.file, e.sha256, e.url, e.title, e.license) == \
               (row["name"], row["file"], row["sha256"], row["url"], row["title"], row["license"])


def test_no_image_files_committed():
    images = [p for p in (ROOT / "data").rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}]
    assert images == []


def test_every_registered_image_loads_and_verifies():
    for name in data.names():
        x = data.load(name, max_size=32)
        assert x.shape[:2] == (1, 3) and max(x.shape[-2:]) == 32, name


def test_hash_mismatch_is_reported(tmp_path, monkeypatch):
    e = data.entry("tubingen")
    (tmp_path / e.file).write_bytes(b"not the real file")
    monkeypatch.setenv("LECTUREKIT_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="sha256"):
        data.path("tubingen")


def test_offline_missing_image_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTUREKIT_DATA", str(tmp_path))
    monkeypatch.setenv("LECTUREKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "_download", lambda e: (_ for _ in ()).throw(
        FileNotFoundError(f"Image {e.name!r} ({e.file}) is not on this machine; put it in LECTUREKIT_DATA")))
    with pytest.raises(FileNotFoundError, match="starry_night.jpg.*LECTUREKIT_DATA"):
        data.path("starry_night")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="tubingen"):
        data.entry("mona_lisa")


def test_credit_line():
    assert data.credit("starry_night") == "- The Starry Night (Vincent van Gogh, 1889; public domain)"


def test_environment_yml_matches_pyproject():
    import tomllib
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = (ROOT / "environment.yml").read_text()
    conda_name = {"torch": "pytorch"}  # conda-forge's name for the same package
    names = {conda_name.get(n, n) for n in (re.split(r"[=<>\[ ]", d)[0].lower() for d in deps)}
    listed = {re.split(r"[=<>\[ ]", line.strip("- ").strip())[0].lower()
              for line in env.splitlines() if line.strip().startswith("- ")}
    assert names <= listed, f"missing from environment.yml: {sorted(names - listed)}"
    for pin in ("torch==2.14.1", "torchvision==0.29.1"):
        assert pin in deps
    assert "pytorch=2.14.1" in env and "torchvision=0.29.1" in env


def test_seed_everything_and_device():
    import torch
    lk.seed_everything(3)
    a = torch.rand(3)
    lk.seed_everything(3)
    assert torch.equal(a, torch.rand(3))
    assert lk.pick_device("cpu").type == "cpu"
    assert lk.pick_device().type in ("cpu", "cuda", "mps")


def test_import_is_fast_and_lazy():
    import subprocess
    import sys
    code = "import sys, lecturekit; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
