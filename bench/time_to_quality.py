"""Time to a lecture-quality picture: seconds until a style transfer passes the picture-quality bars.

A class waits for a good picture, not for a step. For tubingen x {starry_night, the_scream} at 384 and
512 px we watch each run (every 5 steps, the image at the output size) and report the seconds of
optimization until colour noise / max(photo, painting) <= 3 and the colour-histogram distance to the
painting <= 0.8 hold, with the final figures and a common yardstick: the plain Gatys loss of the final
picture at the output size (content + 1e3 x normalized Gram terms, float32, no prior). Variants:
the default; bfloat16 instead of float32; direct (one stage) instead of coarse-to-fine; Adam instead
of L-BFGS; and the tutorial-style reference (bench/reference_tutorial.py: plain loss, L-BFGS), with
the seconds it needs to reach the default's plain loss. torch.compile is left out: on this 2-core CPU
its compile time (tens of seconds) exceeds a whole run.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from common import ROOT, table

sys.path.insert(0, str(ROOT.parent / "shared" / "tools"))
NOISE_BAR, HIST_BAR, EVERY = 3.0, 0.8, 5
VARIANTS = {
    "default (float32 + NHWC, 2x view, coarse-to-fine, L-BFGS)": {},
    "bfloat16": dict(precision="bfloat16"),
    "direct: one full-size stage": dict(prior={"stages": (1.0,)}),
    "Adam instead of L-BFGS": dict(optimizer="adam", lr=0.02),
}


class Watch:
    """Callback that measures the picture every EVERY steps; `passed` is the first step that passes."""

    def __init__(self, photo, painting):
        import picture_quality as pq
        self.pq, self.photo, self.painting = pq, photo, painting
        self.passed = None

    def figures_of(self, image):
        """(colour noise ratio, histogram distance) of `image` shown at the photo's (output) size."""
        import lecturekit as lk
        pq = self.pq
        image = lk.resize(image, tuple(self.photo.shape[-2:]))
        photo, painting = pq.resize_to(pq._t(self.photo), image), pq.resize_to(pq._t(self.painting), image)
        noise = pq.chroma_noise(image) / max(pq.chroma_noise(photo), pq.chroma_noise(painting))
        return noise, pq.hist_dist(image, painting)

    def __call__(self, step, image, terms):
        if step % EVERY or self.passed is not None:
            return
        noise, hist = self.figures_of(image)
        if noise <= NOISE_BAR and hist <= HIST_BAR:
            self.passed = step


def plain_loss(bb, photo, painting):
    """The yardstick: the plain Gatys loss of lecturekit's defaults, at the picture's own size."""
    from lecturekit.losses import ContentTargets, GramTargets
    from lecturekit.prior import PLAIN
    from lecturekit.style import StyleConfig, style_loss_fn
    import lecturekit as lk
    d, feats = bb.defaults, (lambda x, layers: bb.features(x, layers))

    def loss(image):
        c = lk.resize(photo, tuple(image.shape[-2:]))
        s = lk.resize(painting, max(image.shape[-2:]))
        fn = style_loss_fn(feats, ContentTargets(feats, c, d.content_layers), GramTargets(feats, [s], d.style_layers),
                           PLAIN, StyleConfig(dream_layers=()))
        with torch.no_grad():
            return float(sum(v for k, v in fn(image).items() if ":" not in k))
    return loss


def lecturekit_row(bb, photo, painting, size, options, yardstick):
    import lecturekit as lk
    watch = Watch(photo, painting)
    r = lk.style_transfer(photo, painting, backbone=bb, size=size, progress=False, callback=watch, **options)
    noise, hist = watch.figures_of(r.image)
    to_bar = f"{r.times[watch.passed - 1]:.1f}" if watch.passed else "never"
    return [to_bar, f"{r.seconds:.1f}", f"{noise:.2f}", f"{hist:.2f}", f"{yardstick(r.image):.4g}"], yardstick(r.image)


def reference_row(bb, photo, painting, size, target_loss, yardstick, steps=300):
    """The tutorial-style reference: seconds to the bars and to the default's plain loss."""
    from reference_tutorial import build, run
    import lecturekit as lk
    content = lk.resize(photo, size)
    style = lk.resize(painting, tuple(content.shape[-2:]))  # the tutorial needs equal sizes
    d = bb.defaults
    stages = [({v: k for k, v in bb.aliases.items()}.get(n, n), m) for n, m in zip(bb.stage_names, bb.stages)]
    watch, found = Watch(photo, painting), {}
    model, cl, sl = build(stages, bb.mean.view(-1), bb.std.view(-1), content, style, d.content_layers,
                          d.style_layers)

    def callback(step, image, seconds):
        if step % EVERY == 0:
            noise, hist = watch.figures_of(image)
            if noise <= NOISE_BAR and hist <= HIST_BAR:
                found.setdefault("bar", seconds)
            if yardstick(image) <= target_loss:
                found.setdefault("loss", seconds)
    x, times, _ = run(model, cl, sl, content, steps, callback=callback)
    elapsed, t_bar, t_loss = sum(times), found.get("bar"), found.get("loss")
    noise, hist = watch.figures_of(x)
    return [f"{t_bar:.1f}" if t_bar else "never", f"{elapsed:.1f}", f"{noise:.2f}", f"{hist:.2f}",
            f"{yardstick(x):.4g}"], t_loss


def main(sizes=(384, 512), pairs=("starry_night", "the_scream")) -> list[str]:
    import lecturekit as lk
    bb = lk.load_backbone("efficientnet_lite0")
    rows = []
    for size in sizes:
        photo = lk.data.load("tubingen", max_size=size)
        for name in pairs:
            painting = lk.data.load(name, max_size=512)
            yardstick = plain_loss(bb, photo, painting)
            default_loss = None
            for label, options in VARIANTS.items():
                cells, loss = lecturekit_row(bb, photo, painting, size, options, yardstick)
                default_loss = default_loss if default_loss is not None else loss
                rows.append([f"{size} px", name, label, *cells, ""])
            cells, t_loss = reference_row(bb, photo, painting, size, default_loss, yardstick)
            rows.append([f"{size} px", name, "reference (tutorial style, plain loss)", *cells,
                         f"{t_loss:.1f}" if t_loss else "not within 300 steps"])
    return ["### Time to a lecture-quality picture (efficientnet_lite0, CPU, "
            f"{torch.get_num_threads()} threads)",
            f"Seconds of optimization until colour noise <= {NOISE_BAR} and histogram distance <= {HIST_BAR} "
            f"(checked every {EVERY} steps), the whole run, the final figures, and the plain Gatys loss of "
            "the final picture (the same yardstick for every row; lower is closer to the plain objective, "
            "which is not the same as a better picture).",
            table(["size", "painting", "variant", "s to the bars", "s in all", "colour noise", "histogram",
                   "plain loss", "reference: s to the default's plain loss"], rows)]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    args = [int(a) for a in sys.argv[1:]]
    print("\n".join(main(tuple(args) or (384, 512))))
