"""The GPU check: run it once on a CUDA machine (under 8 minutes) and paste its table into bench/results.md.

    python tools/gpu_check.py                 # on a CUDA machine: every check, a markdown table on stdout
    python tools/gpu_check.py --quick --device cpu   # a one-minute dry run of the same code (what the tests run)

1. every notebook, top to bottom, with the CUDA defaults (VGG-19; with random weights where torchvision's
   cannot be had, i.e. offline and not cached);
2. seconds per Gatys step at 512 px with VGG-19, float32 and bfloat16;
3. fast-style frames per second at 512 and 1024 px;
4. a 100-step style transfer at 512 px, end to end.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def vgg_weights_available() -> bool:
    from lecturekit.models import WeightsUnavailableError
    from lecturekit.models.zoo import torchvision_state_dict
    try:
        torchvision_state_dict("vgg19", download=True)
        return True
    except WeightsUnavailableError:
        return False


def run_notebooks(env: dict, budget_s: float) -> list[tuple[str, str, float]]:
    """(notebook, "ok" or the error, seconds) for each notebook, executed with `env` set."""
    import nbformat
    from nbclient import NotebookClient
    rows, old = [], dict(os.environ)
    os.environ.update(env)
    try:
        for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            t = time.perf_counter()
            try:
                NotebookClient(nbformat.read(path, as_version=4), timeout=int(budget_s), kernel_name="python3",
                               resources={"metadata": {"path": str(path.parent)}}).execute()
                status = "ok"
            except Exception as e:  # the table reports it; the check goes on
                status = f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:120]}"
            rows.append((path.stem, status, time.perf_counter() - t))
    finally:
        os.environ.clear()
        os.environ.update(old)
    return rows


def seconds_per_gatys_step(bb, size: int, precision: str, steps: int = 10) -> float:
    import lecturekit as lk
    photo, painting = lk.data.load("tubingen", max_size=size), lk.data.load("starry_night", max_size=size)
    lk.style_transfer(photo, painting, backbone=bb, size=size, steps=2, prior="plain", progress=False,
                      precision=precision)  # warm-up
    r = lk.style_transfer(photo, painting, backbone=bb, size=size, steps=steps, prior="plain", progress=False,
                          precision=precision)
    return r.seconds / r.steps


def fast_fps(size: int, device, frames: int = 20) -> float:
    import torch

    import lecturekit as lk
    net = lk.fast.load_fast_style("starry_night", device=device)
    x = lk.resize(lk.data.load("tubingen"), size).to(device)
    lk.fast.stylize(net, x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(frames):
        lk.fast.stylize(net, x)
    return frames / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--device", default="cuda")
    a.add_argument("--quick", action="store_true", help="tiny sizes and no notebooks: a dry run of the code")
    a.add_argument("--skip-notebooks", action="store_true")
    args = a.parse_args(argv)
    import torch

    import lecturekit as lk
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA GPU here; run on a CUDA machine, or try the dry run: --quick --device cpu")
        return 2
    real = not args.quick and vgg_weights_available()
    size, big = (64, 128) if args.quick else (512, 1024)
    lines = [f"GPU check on {torch.cuda.get_device_name() if device.type == 'cuda' else device}, torch "
             f"{torch.__version__}, VGG-19 with {'ImageNet' if real else 'random'} weights", "",
             "| check | result |", "|---|---|"]
    if not (args.quick or args.skip_notebooks):
        env = {"LECTUREKIT_DEVICE": args.device}
        if not real:
            env.update(LECTUREKIT_TEST_BACKBONE="vgg19", LECTUREKIT_TEST_SIZE="0")  # random VGG-19, full sizes
        for name, status, s in run_notebooks(env, budget_s=300):
            lines.append(f"| notebook {name} | {status}, {s:.0f} s |")
    torch.manual_seed(0)
    bb = lk.load_backbone("vgg19", weights="pretrained" if real else None, device=device)
    for precision in ("float32", "bfloat16"):
        lines.append(f"| Gatys step, VGG-19, {size} px, {precision} | "
                     f"{seconds_per_gatys_step(bb, size, precision, 3 if args.quick else 10):.3f} s |")
    for s in (size, big):
        lines.append(f"| fast style, {s} px | {fast_fps(s, device, 3 if args.quick else 20):.1f} frames/s |")
    photo, painting = lk.data.load("tubingen"), lk.data.load("starry_night")
    r = lk.style_transfer(photo, painting, backbone=bb, size=size, steps=5 if args.quick else 100, progress=False)
    lines.append(f"| style transfer, {size} px, {r.steps} steps (default prior) | {r.seconds:.1f} s |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
