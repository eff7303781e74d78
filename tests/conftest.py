import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED_IMAGES = ROOT.parent / "shared" / "data" / "images"
if "LECTUREKIT_DATA" not in os.environ and SHARED_IMAGES.exists():
    os.environ["LECTUREKIT_DATA"] = str(SHARED_IMAGES)
import matplotlib  # noqa: E402

matplotlib.use("Agg")  # in this process only: notebook kernels keep their inline backend
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in a real Chromium (slow)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "backbones: the random-weight test mode on VGG-19 and GoogLeNet (make test-backbones)")


@pytest.fixture(scope="session")
def lite0():
    import lecturekit as lk
    return lk.load_backbone("efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def lite0_random():
    import lecturekit as lk
    torch.manual_seed(0)  # the same random weights in every run, so smoke tests cannot flake
    return lk.load_backbone("efficientnet_lite0", weights=None, device="cpu")


@pytest.fixture
def small_image():
    g = torch.Generator().manual_seed(0)
    base = torch.linspace(0, 1, 64)
    img = torch.stack([base[None, :].expand(48, 64), base[:48, None].expand(48, 64),
                       0.5 + 0.2 * torch.randn(48, 64, generator=g)]).clamp(0, 1)
    return img[None]


@pytest.fixture(scope="session")
def tubingen():
    import lecturekit as lk
    return lk.data.load("tubingen", max_size=96)


@pytest.fixture(scope="session")
def starry():
    import lecturekit as lk
    return lk.data.load("starry_night", max_size=96)
