"""Style transfer speed: seconds per L-BFGS step, lecturekit against a straightforward reference in the
manner of the PyTorch tutorial (bench/reference_tutorial.py), in the same process, on the same inputs.

For each backbone (vgg19 with random weights, which is fine for timing, and efficientnet_lite0 with its
real weights) and size (256, 512 px):
  - reference: float32, NCHW, loss modules in an nn.Sequential cut after the last loss layer;
  - lecturekit float32;
  - lecturekit with channels_last, and with bfloat16 autocast (Gram matrices and losses in float32)
    plus channels_last. On EfficientNet-Lite0 lecturekit also folds batch norm into the convolutions,
    which the reference does not.
Quality: the final loss of the fast settings, re-evaluated in float32, must be within 5 % of the float32
run's after the same number of steps. Peak memory at 1024 px runs in a child process.
"""
from __future__ import annotations

import json
import sys

import torch

from common import peak_rss_mb, run_child, table
from reference_tutorial import build, named_stages, run

STEPS, WARMUP = 10, 2


def _inputs(size: int):
    import lecturekit as lk
    content = lk.resize(lk.data.load("tubingen"), size)
    style = lk.resize(lk.data.load("starry_night"), tuple(content.shape[-2:]))  # the tutorial needs equal sizes
    return content, style


def reference_step_time(bb, content, style) -> float:
    if bb.name == "efficientnet_lite0":  # a straightforward model keeps its batch-norm layers
        from lecturekit.models.zoo import _build_lite0, load_lite0_state_dict
        defaults = bb.defaults
        bb = _build_lite0(load_lite0_state_dict(), fold_bn=False)
        bb.defaults = defaults
    d = bb.defaults
    model, cl, sl = build(named_stages(bb), bb.mean.view(-1), bb.std.view(-1), content, style, d.gatys_content_layers,
                          d.style_layers)
    _, times, _ = run(model, cl, sl, content, STEPS + WARMUP)
    return sum(times[WARMUP:]) / STEPS


def lecturekit_step_time(bb, content, style, precision: str = "float32", channels_last: bool = False) -> float:
    import lecturekit as lk
    r = lk.style_transfer(content, style, backbone=bb, size=None, steps=STEPS + WARMUP, precision=precision,
                          channels_last=channels_last, prior="plain", progress=False)
    steps = [b - a for a, b in zip([0.0] + r.times[:-1], r.times)]
    return sum(steps[WARMUP:]) / STEPS


def quality(bb, content, style, precision: str, channels_last: bool, steps: int = 60) -> tuple[float, float]:
    """Final loss (evaluated in float32) of the default run and of the run with the given settings."""
    import lecturekit as lk
    from lecturekit.losses import ContentTargets, GramTargets
    from lecturekit.prior import PLAIN
    from lecturekit.style import StyleConfig, style_loss_fn
    d = bb.defaults
    feats = lambda x, layers: bb.features(x, layers)  # noqa: E731
    loss32 = style_loss_fn(feats, ContentTargets(feats, content, d.gatys_content_layers),
                           GramTargets(feats, [style], d.style_layers), PLAIN, StyleConfig(dream_layers=()))
    out = []
    for prec, cl in (("float32", False), (precision, channels_last)):
        r = lk.style_transfer(content, style, backbone=bb, size=None, steps=steps, precision=prec,
                              channels_last=cl, prior="plain", progress=False)
        with torch.no_grad():
            terms = loss32(r.image)
        out.append(float(sum(v for k, v in terms.items() if ":" not in k)))
    return out[0], out[1]


def child_memory(size: int) -> dict:
    import lecturekit as lk
    bb = lk.load_backbone("efficientnet_lite0")
    content, style = _inputs(size)
    base = peak_rss_mb()
    r = lk.style_transfer(content, style, backbone=bb, size=None, steps=3, prior="plain", progress=False)
    return {"peak_mb": peak_rss_mb(), "base_mb": base, "step_s": r.times[-1] / 3}


def main() -> list[str]:
    import lecturekit as lk
    torch.manual_seed(0)
    rows, qual = [], []
    for name, weights in [("efficientnet_lite0", "pretrained"), ("vgg19", None)]:
        bb = lk.load_backbone(name, weights=weights, device="cpu")
        for size in (256, 512):
            content, style = _inputs(size)
            ref = reference_step_time(bb, content, style)
            variants = {"float32": lecturekit_step_time(bb, content, style),
                        "float32 + channels_last": lecturekit_step_time(bb, content, style, channels_last=True),
                        "bfloat16 + channels_last": lecturekit_step_time(bb, content, style, "bfloat16", True)}
            best = min(variants, key=variants.get)
            rows.append([f"{name}{'' if weights else ' (random weights)'}", f"{size} px", f"{ref:.3f}",
                         *[f"{v:.3f}" for v in variants.values()], f"{ref / variants[best]:.2f}× ({best})"])
            if size == 256:
                prec, cl = ("bfloat16", True) if "bfloat16" in best else ("float32", "channels_last" in best)
                l32, lbest = quality(bb, content, style, prec, cl)
                qual.append(f"- {name}, 256 px, 60 L-BFGS steps: final loss {l32:.4g} (float32) vs {lbest:.4g} "
                            f"({best}), {100 * (lbest - l32) / l32:+.1f} %.")
    mem = run_child("style_bench", "1024")
    return ["### Style transfer, seconds per L-BFGS step (CPU, "
            f"{torch.get_num_threads()} threads)",
            table(["backbone", "size", "reference (tutorial approach)", "lecturekit float32",
                   "+ channels_last", "+ bfloat16 + channels_last", "best speed-up vs reference"], rows),
            "", "Quality of the fastest settings against float32 (same steps; loss re-evaluated in float32):",
            *qual, "",
            f"Peak memory, efficientnet_lite0 at 1024 px on the CPU: {mem['peak_mb']:.0f} MB resident "
            f"({mem['peak_mb'] - mem['base_mb']:.0f} MB above the process at start), "
            f"{mem['step_s']:.2f} s per step."]


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child_memory(int(sys.argv[sys.argv.index("--child") + 1]))))
    else:
        print("\n".join(main()))
