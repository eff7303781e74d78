"""The tools a maintainer runs: the GPU check's dry run."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_dry_run(capsys):
    """tools/gpu_check.py's code paths, tiny, on the CPU (the real run needs a CUDA machine)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import gpu_check
    assert gpu_check.main(["--quick", "--device", "cpu"]) == 0
    table = capsys.readouterr().out
    assert "| Gatys step, VGG-19, 64 px, bfloat16 |" in table and "frames/s" in table
