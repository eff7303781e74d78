"""What the image prior does: picture-quality figures, loss and time of each variant, per lesson.

Figures from ../shared/tools/picture_quality.py (no network): colour noise (chroma high-pass energy),
fine grain (luminance Laplacian energy), saturation and colour-histogram distance. The bars are those
of the picture-quality issue: style transfer at 384 px on tubingen x {starry_night, the_scream, udnie},
neural texture 256 px from a 192 px pebbles sample, inversion of tubingen at 256 px at every stage,
DeepDream at 320 px. Run alone: `python bench/prior_bench.py [style|texture|inversion|dream ...]`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from common import ROOT, table

sys.path.insert(0, str(ROOT.parent / "shared" / "tools"))
PAIRS = ("starry_night", "the_scream", "udnie")
STYLE_VARIANTS = {  # label: prior
    "plain": "plain",
    "TV only (luminance 30, chroma 300)": {"view_scale": 1.0, "stages": (1.0,), "tv": 30.0, "chroma_tv": 300.0},
    "2x view only": {"stages": (1.0,), "tv": 0.0, "chroma_tv": 0.0},
    "coarse-to-fine only": {"view_scale": 1.0, "tv": 0.0, "chroma_tv": 0.0},
    "jitter 4 px + coarse-to-fine": {"view_scale": 1.0, "jitter": 4, "tv": 0.0, "chroma_tv": 0.0},
    "2x view + coarse-to-fine": {"tv": 0.0, "chroma_tv": 0.0},
    "default: 2x view + TV + coarse-to-fine": "default",
}


def _pq():
    import picture_quality
    return picture_quality


def style_rows(size: int = 384) -> list[list]:
    import lecturekit as lk
    pq = _pq()
    bb = lk.load_backbone("efficientnet_lite0")
    photo = lk.data.load("tubingen", max_size=size)
    rows = []
    for label, prior in STYLE_VARIANTS.items():
        cells = []
        for name in PAIRS:
            painting = lk.data.load(name, max_size=512)
            t = time.perf_counter()
            r = lk.style_transfer(photo, painting, backbone=bb, size=size, prior=prior, progress=False)
            seconds = time.perf_counter() - t
            ref_photo, ref_paint = pq.resize_to(pq._t(photo), r.image), pq.resize_to(pq._t(painting), r.image)
            noise = pq.chroma_noise(r.image) / max(pq.chroma_noise(ref_photo), pq.chroma_noise(ref_paint))
            cells.append(f"{noise:.2f} / {pq.hist_dist(r.image, ref_paint):.2f} / {seconds:.1f} s")
        rows.append([label, *cells])
    return rows


def texture_rows() -> list[list]:
    import lecturekit as lk
    pq = _pq()
    bb = lk.load_backbone("efficientnet_lite0")
    sample = lk.data.load("pebbles", max_size=192)
    rows = []
    for label, options in {"plain": dict(prior="plain"), "default": {},
                           "default + histogram match": dict(match_histogram=True)}.items():
        t = time.perf_counter()
        r = lk.synthesize_texture(sample, bb, size=256, seed=0, progress=False, **options)
        seconds = time.perf_counter() - t
        ref = pq.resize_to(pq._t(sample), r.image)
        rows.append([label, f"{pq.hf(r.image) / pq.hf(ref):.2f}", f"{pq.chroma_noise(r.image) / pq.chroma_noise(ref):.2f}",
                     f"{pq.sat(r.image) / pq.sat(ref):.2f}", f"{pq.hist_dist(r.image, ref):.2f}",
                     f"{r.history['texture'][-1]:.3g}", f"{seconds:.1f}"])
    return rows


def inversion_rows(steps: int = 200) -> list[list]:
    import lecturekit as lk
    pq = _pq()
    bb = lk.load_backbone("efficientnet_lite0")
    photo = lk.data.load("tubingen", max_size=256)
    rows = []
    for layer in ["stage0", "stage1", "stage2", "stage3", "stage4", "stage5"]:
        cells = []
        for options in (dict(prior="plain", lr=0.05), {}):  # the old default, then the prior's
            r = lk.invert_features(photo, bb, layer=layer, steps=steps, progress=False, **options)
            cells.append(f"{r.config['psnr']:.1f} dB, noise {pq.chroma_noise(r.image) / pq.chroma_noise(photo):.2f}x, "
                         f"{r.seconds:.1f} s")
        rows.append([layer, *cells])
    return rows


def dream_rows() -> list[list]:
    import lecturekit as lk
    from lecturekit.dream import dream_objective
    bb = lk.load_backbone("efficientnet_lite0")
    photo = lk.data.load("tubingen", max_size=320)
    view = lk.prior.resolve("default", "dream").view
    rows = []
    for layer in ("stage3", "stage4"):
        for prior in ("plain", "default"):
            t = time.perf_counter()
            r = lk.deepdream(photo, bb, layers=layer, steps=10, octaves=4, seed=0, prior=prior, progress=False)
            seconds = time.perf_counter() - t
            plain = float(dream_objective(r.image, bb, layer)) / float(dream_objective(photo, bb, layer))
            seen = float(dream_objective(view(r.image), bb, layer)) / float(dream_objective(view(photo), bb, layer))
            rows.append([layer, prior, f"{plain:.2f}x", f"{seen:.2f}x", f"{seconds:.1f}"])
    return rows


def main(parts=("style", "texture", "inversion", "dream")) -> list[str]:
    out = ["### The image prior (efficientnet_lite0, CPU, "
           f"{torch.get_num_threads()} threads; picture_quality.py figures)"]
    if "style" in parts:
        out += ["", "Style transfer, tubingen at 384 px, 200 L-BFGS steps: colour noise / max(photo, painting), "
                "histogram distance to the painting, seconds (bars: <= 3, <= 0.8, <= 20 s)",
                table(["variant", *PAIRS], style_rows())]
    if "texture" in parts:
        out += ["", "Neural texture, pebbles 192 px -> 256 px, 150 L-BFGS steps, ratios to the sample "
                "(bars: fine grain 0.5-2, colour noise <= 2, saturation 0.75-1.33, histogram <= 0.5)",
                table(["variant", "fine grain", "colour noise", "saturation", "histogram", "final loss", "s"],
                      texture_rows())]
    if "inversion" in parts:
        out += ["", "Feature inversion, tubingen 256 px, 200 Adam steps: PSNR, colour noise / photo's "
                "(bar <= 1.5x), seconds",
                table(["layer", "old default (plain, lr 0.05)", "default (chroma TV 4 x stride)"], inversion_rows())]
    if "dream" in parts:
        out += ["", "DeepDream, tubingen 320 px, 4 octaves x 10 steps: objective rise measured on the image "
                "itself and through the 2x view (bar >= 1.5x)",
                table(["layer", "prior", "rise (image)", "rise (2x view)", "s"], dream_rows())]
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print("\n".join(main(tuple(sys.argv[1:]) or ("style", "texture", "inversion", "dream"))))
