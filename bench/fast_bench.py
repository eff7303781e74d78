"""Fast style networks: frames per second at 256, 512 and 1024 px (CPU, and CUDA where present), and the
speed-up over 100 steps of optimization-based style transfer at the same size, on the same machine."""
from __future__ import annotations

import time

import torch

from common import table


def fps(net, x, device, repeats: int = 3) -> float:
    from lecturekit.fast import stylize
    net = net.to(device)
    stylize(net, x)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        stylize(net, x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return repeats / (time.perf_counter() - t0)


def main() -> list[str]:
    import lecturekit as lk
    from lecturekit.fast import list_styles, load_fast_style
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    photo = lk.data.load("tubingen")
    starry = lk.data.load("starry_night")
    bb = lk.load_backbone("efficientnet_lite0", device="cpu")
    rows, speed = [], []
    for name in list_styles():
        net = load_fast_style(name)
        for device in devices:
            cells = [f"{fps(net, lk.resize(photo, s), device):.1f}" for s in (256, 512, 1024)]
            rows.append([name, device.type, *cells])
    net = load_fast_style(list_styles()[0])
    for size in (256, 512, 1024):
        x = lk.resize(photo, size)
        one_pass = 1.0 / fps(net, x, torch.device("cpu"))
        r = lk.style_transfer(x, starry, backbone=bb, size=None, steps=4, prior="plain", progress=False)
        per_step = (r.times[-1] - r.times[0]) / 3
        speed.append([f"{size} px", f"{one_pass:.3f}", f"{per_step * 100:.1f}", f"{per_step * 100 / one_pass:.0f}×"])
    return ["### Fast style networks, frames per second",
            table(["network", "device", "256 px", "512 px", "1024 px"], rows), "",
            "### One forward pass against 100 optimization steps (efficientnet_lite0, CPU)",
            table(["size", "one pass (s)", "100 L-BFGS steps (s)", "speed-up"], speed)]


if __name__ == "__main__":
    print("\n".join(main()))
