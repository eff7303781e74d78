"""Command line of fast-style training: python -m lecturekit.fast.train --style starry_night --out net.pt [...].

Every option but --style, --content, --out and --backbone is a field of `TrainConfig`, with its default
(the options are built from the dataclass, as `python -m lecturekit style` is from StyleConfig).
Exit status: 0 done; 1 stopped on a NaN loss and 130 interrupted with Ctrl-C (both save the last good
weights, with `stopped` and the steps done in their training config).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..configs import FAST_NORMS, TrainConfig

EXIT_CODES = {None: 0, "stop": 0, "nan": 1, "interrupted": 130}


def build_parser() -> argparse.ArgumentParser:
    from ..__main__ import add_config_options
    p = argparse.ArgumentParser(prog="python -m lecturekit.fast.train",
                                description="Train a fast style network (works under torchrun).")
    p.add_argument("--style", nargs="+", required=True, help="registry names or image paths")
    p.add_argument("--content", default=None, help="folder of training images (default: built-in set)")
    p.add_argument("--out", required=True, help="where to save the final fp16 weights")
    p.add_argument("--backbone", default=None)
    add_config_options(p, TrainConfig, choices={"norm": FAST_NORMS},
                       aliases={"checkpoint_path": ["--checkpoint"]})
    return p


def main(argv=None) -> int:
    """Train and save; returns the exit status (see the module docstring)."""
    from .. import data
    from ..__main__ import config_values
    from ..images import load_image
    from .distributed import dist_info, finish
    from .stylize import save_fast_style
    from .train import train_fast_style
    a = build_parser().parse_args(argv)
    names = [Path(s).stem if Path(s).exists() else s for s in a.style]
    options = config_values(a, TrainConfig)
    options["style_names"] = options["style_names"] or names
    if options["checkpoint_every"] is None:
        options["checkpoint_every"] = max(1, a.steps // 10)
    TrainConfig(**options)  # every bad number found before the images and the backbone load
    styles = [load_image(s) if Path(s).exists() else data.load(s) for s in a.style]
    net, hist = train_fast_style(styles, a.content, a.backbone, **options)
    _, rank = dist_info()
    if rank == 0:
        cfg = {k: v for k, v in vars(a).items() if k not in ("out", "checkpoint_path")}
        last = hist.get("total", [])[-20:]
        cfg.update(steps_done=len(hist.get("total", [])), stopped=hist.stopped,
                   final_loss=sum(last) / len(last) if last else None)
        save_fast_style(net, a.out, list(options["style_names"]), **cfg)
        done = f"final loss {cfg['final_loss']:.4g}" if cfg["final_loss"] is not None else "no step done"
        print(f"saved {a.out}: {done}" + (f" ({hist.message})" if hist.stopped else ""))
    finish()
    return EXIT_CODES[hist.stopped]


if __name__ == "__main__":
    sys.exit(main())
