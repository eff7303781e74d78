"""Helpers for the benchmarks: peak memory of a child process, a table printer."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB: VmHWM, which (unlike ru_maxrss) does not carry over
    the parent's peak into a child started with fork and exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(module: str, *args: str) -> dict:
    """Run `python bench/<module>.py --child args...` and return the JSON it prints last."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / f"{module}.py"), "--child", *args],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def best_of(fn, repeats: int = 3) -> float:
    """The fastest of `repeats` timed calls of fn(), after one warm-up call (seconds)."""
    import time
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def side_by_side(photo, ours, theirs, sizes=(256, 512, 1024)) -> list[tuple[int, float, float]]:
    """(size, our seconds, the peer's seconds) per picture: ours(x (1, 3, H, W)) and theirs(PIL image) on
    the photo resized to each longest side, each the best of three."""
    import lecturekit as lk
    rows = []
    for size in sizes:
        x = lk.resize(photo, size)
        pil = lk.to_pil(x)
        rows.append((size, best_of(lambda: ours(x)), best_of(lambda: theirs(pil))))
    return rows
