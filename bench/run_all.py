"""`make bench`: run every benchmark and print (and save) one Markdown report, bench/results.md."""
from __future__ import annotations

import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cli_bench  # noqa: E402
import dream_bench  # noqa: E402
import fast_bench  # noqa: E402
import prior_bench  # noqa: E402
import style_bench  # noqa: E402
import time_to_quality  # noqa: E402


def main() -> None:
    header = [f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
              f"torch {torch.__version__}, CUDA: {torch.cuda.is_available()}", ""]
    parts = header
    for module in (time_to_quality, prior_bench, style_bench, dream_bench, fast_bench, cli_bench):
        section = module.main()
        print("\n".join(section), flush=True)
        parts += section + [""]
    report = "\n".join(parts)
    (Path(__file__).resolve().parent / "results.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
