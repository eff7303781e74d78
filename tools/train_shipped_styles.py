"""Train the fast-style networks shipped in lecturekit/assets/fast_styles/ with this repo's own training code.

    python tools/train_shipped_styles.py            # every net that is not there yet
    python tools/train_shipped_styles.py --only starry_night

The configuration of each run is stored inside its .pt file (see `load_fast_style(name).training_config`)
and listed in lecturekit/assets/fast_styles/README.md. On a 2-core CPU, one 1500-step single-style net takes about
10 minutes with one thread (two nets train side by side, one per core); a GPU does it in well under a
minute.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import time

import torch

import lecturekit as lk
from lecturekit.fast import save_fast_style, train_fast_style
from lecturekit.fast.stylize import WEIGHTS_DIR

# tv_weight 3 on the package's one TV (luminance + chroma, size-independent units) is about the weight 1
# on the RGB TV the shipped nets were trained with, at 128 px crops (measured on their outputs: 2.6-3.6x).
COMMON = dict(size=128, batch_size=4, width=16, content_weight=1.0, style_weight=200.0, tv_weight=3.0,
              lr=2e-3, seed=0, backbone="efficientnet_lite0")
NETS = {  # the single-style nets were trained before the saturation penalty existed and needed none
    "starry_night": dict(styles=["starry_night"], steps=1500, saturation_weight=0.0),
    "the_scream": dict(styles=["the_scream"], steps=1500, style_weight=100.0, saturation_weight=0.0),
    "great_wave": dict(styles=["great_wave"], steps=1500, saturation_weight=0.0),
    "four_styles": dict(styles=["starry_night", "the_scream", "great_wave", "udnie"], steps=3000,
                        style_weight=150.0, saturation_weight=1.0),
}


def train(name: str, spec: dict) -> None:
    cfg = {**COMMON, **{k: v for k, v in spec.items() if k != "styles"}}
    styles = [lk.data.load(s, max_size=512) for s in spec["styles"]]
    t0 = time.perf_counter()
    net, hist = train_fast_style(styles, None, checkpoint_every=250,
                                 checkpoint_path=Path(__file__).resolve().parent.parent / "build" / f"{name}.ckpt",
                                 style_names=spec["styles"], **cfg)
    minutes = (time.perf_counter() - t0) / 60
    final = sum(hist["total"][-50:]) / len(hist["total"][-50:])
    save_fast_style(net, WEIGHTS_DIR / f"{name}.pt", spec["styles"], minutes=round(minutes, 1),
                    final_loss=round(final, 3), torch=torch.__version__, **cfg)
    print(f"{name}: {minutes:.1f} min, final loss {final:.3f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--force", action="store_true")
    a = p.parse_args()
    for name, spec in NETS.items():
        if a.only and name not in a.only:
            continue
        if (WEIGHTS_DIR / f"{name}.pt").exists() and not a.force:
            print(f"{name}: already there")
            continue
        train(name, spec)


if __name__ == "__main__":
    main()
