"""The command line as an instructor meets it: how fast a usage error is answered (it must not wait for
torch), and how long the README's `dream` and `style` examples take at their default size."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import table

CASES = [
    ("usage error (missing argument)", ["style", "tubingen", "-o", "{out}/x.png"]),
    ("bad numbers (--steps 0 --size -3)", ["style", "tubingen", "starry_night", "-o", "{out}/x.png",
                                           "--steps", "0", "--size", "-3"]),
    ("dream tubingen (default: 512 px, 4 octaves x 10 steps)", ["dream", "tubingen", "-o", "{out}/dream.png"]),
    ("style tubingen starry_night --size 512 (default 200 steps)",
     ["style", "tubingen", "starry_night", "-o", "{out}/style.png", "--size", "512"]),
]


def main() -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for label, args in CASES:
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "lecturekit", *[a.format(out=out) for a in args]],
                                  capture_output=True, text=True)
            rows.append([label, f"{time.perf_counter() - t:.2f}", done.returncode])
    return ["### The command line (python -m lecturekit, wall-clock seconds including start-up)",
            table(["command", "seconds", "exit status"], rows)]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print("\n".join(main()))
