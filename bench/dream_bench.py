"""DeepDream on the embedded backbone: seconds and peak memory for a 512 px 4-octave dream and a 1024 px
tiled one. Each case runs in its own process so that its peak memory is its own."""
from __future__ import annotations

import json
import sys
import time

from common import peak_rss_mb, run_child, table


def child(size: int, tile: int) -> dict:
    import torch
    import lecturekit as lk
    bb = lk.load_backbone("efficientnet_lite0")
    img = lk.resize(lk.data.load("tubingen"), size) if size <= 1024 else None
    base = peak_rss_mb()
    t0 = time.perf_counter()
    lk.deepdream(img, bb, steps=10, octaves=4, seed=0, progress=False, tile_size=tile)
    return {"size": size, "seconds": time.perf_counter() - t0, "peak_mb": peak_rss_mb(),
            "base_mb": base, "threads": torch.get_num_threads()}


def main() -> list[str]:
    rows = []
    for size, tile, label in [(512, 1024, "512 px, 4 octaves × 10 steps, untiled"),
                              (1024, 4096, "1024 px, untiled"),
                              (1024, 512, "1024 px, tiles of 512 px")]:
        r = run_child("dream_bench", str(size), str(tile))
        rows.append([label, f"{r['seconds']:.1f}", f"{r['peak_mb']:.0f}", f"{r['peak_mb'] - r['base_mb']:.0f}"])
    return ["### DeepDream (efficientnet_lite0, CPU)",
            table(["case", "seconds", "peak RSS (MB)", "above start (MB)"], rows)]


if __name__ == "__main__":
    if "--child" in sys.argv:
        a = sys.argv[sys.argv.index("--child") + 1:]
        print(json.dumps(child(int(a[0]), int(a[1]))))
    else:
        print("\n".join(main()))
