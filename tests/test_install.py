"""Installed, not only checked out: a wheel carries the image registry and the shipped nets."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USE_INSTALLED = r"""
import sys, lecturekit as lk
from pathlib import Path
site = Path(sys.argv[1]).resolve()
assert Path(lk.__file__).resolve().is_relative_to(site), f"imported {lk.__file__}, not the installed copy"
x = lk.load_image("tubingen", max_size=48)
net = lk.fast.load_fast_style("starry_night")
y = lk.fast.stylize(net, x)
print("ok", tuple(y.shape), len(lk.fast.list_styles()), len(lk.data.names()))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, cwd=out)
    wheels = list(out.glob("lecturekit-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_holds_what_the_package_reads(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "lecturekit/assets/registry.tsv" in names
    assert {"starry_night.pt", "five_styles.pt", "starry_night_batchnorm.pt"} <= {Path(n).name for n in names if "fast_styles" in n}


def test_non_editable_install_works_from_another_folder(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", USE_INSTALLED, str(site)], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "ok" and "(1, 3," in done.stdout

