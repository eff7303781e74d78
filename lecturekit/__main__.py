"""Command line for instructors preparing material.

    python -m lecturekit style CONTENT STYLE -o OUT.png [--size 512 --steps 300 ...]
    python -m lecturekit dream IMAGE -o OUT.png [--layer stage3 --octaves 4]
    python -m lecturekit download vgg19 googlenet      # pre-download torchvision weights (needs internet)
    python -m lecturekit train-fast --style starry_night --out net.pt [...]
CONTENT/STYLE/IMAGE are file paths, URLs or names from the image registry (lk.data.names()).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


class CliError(Exception):
    pass


def _image(src: str, max_size: int | None = None):
    from . import data
    from .images import load_image
    if src in data.registry():
        return data.load(src, max_size=max_size)
    if not src.startswith(("http://", "https://")) and not Path(src).exists():
        raise CliError(f"{src!r} is neither an existing file nor a registered image "
                       f"({', '.join(data.names())}).")
    return load_image(src, max_size=max_size)


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def _blend(text):
    try:
        return [float(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--style-blend takes comma-separated numbers, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lecturekit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("style", help="neural style transfer (Gatys)")
    s.add_argument("content")
    s.add_argument("style", nargs="+", help="one or more style images (blended)")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--size", type=_positive(int), default=512)
    s.add_argument("--steps", type=_positive(int), default=300)
    s.add_argument("--style-weight", type=_positive(float), default=1e3)
    s.add_argument("--content-weight", type=_positive(float), default=1.0)
    s.add_argument("--tv-weight", type=float, default=0.0)
    s.add_argument("--style-scale", type=_positive(float), default=1.0)
    s.add_argument("--style-blend", type=_blend, default=None, help="e.g. 0.7,0.3")
    s.add_argument("--original-colors", choices=["luminance", "histogram"], default=None)
    s.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam", "sgd", "adagrad", "adadelta", "rmsprop"])
    s.add_argument("--multiscale", type=lambda t: [int(v) for v in t.split(",")], default=None,
                   help="coarse-to-fine sizes, e.g. 256,512")
    s.add_argument("--backbone", default=None)
    s.add_argument("--seed", type=int, default=0)
    d = sub.add_parser("dream", help="DeepDream")
    d.add_argument("image")
    d.add_argument("-o", "--output", required=True)
    d.add_argument("--layer", default=None)
    d.add_argument("--steps", type=_positive(int), default=10)
    d.add_argument("--octaves", type=_positive(int), default=4)
    d.add_argument("--size", type=_positive(int), default=512)
    d.add_argument("--backbone", default=None)
    d.add_argument("--seed", type=int, default=0)
    dl = sub.add_parser("download", help="pre-download torchvision weights into the torch hub cache")
    dl.add_argument("names", nargs="+")
    sub.add_parser("train-fast", help="train a fast style network (see --help)", add_help=False)
    return p


def _run_style(a) -> None:
    from .images import save_image
    from .style import style_transfer
    if a.style_blend is not None and len(a.style_blend) != len(a.style):
        raise CliError(f"--style-blend has {len(a.style_blend)} weights for {len(a.style)} style images")
    content = _image(a.content)
    styles = [_image(s) for s in a.style]
    r = style_transfer(content, styles if len(styles) > 1 else styles[0], backbone=a.backbone, size=a.size,
                       steps=a.steps, style_weight=a.style_weight, content_weight=a.content_weight,
                       tv_weight=a.tv_weight, style_scale=a.style_scale, style_blend=a.style_blend,
                       original_colors=a.original_colors, optimizer=a.optimizer, multiscale=a.multiscale,
                       seed=a.seed, progress=True)
    meta = {**r.config, "content": a.content, "style": a.style, "final_loss": r.loss}
    save_image(r.image, a.output, metadata=meta)
    print(f"wrote {a.output} ({r.steps} steps, loss {r.loss:.4g}, {r.seconds:.1f} s)")


def _run_dream(a) -> None:
    from .dream import deepdream
    from .images import save_image
    img = _image(a.image, max_size=a.size)
    out = deepdream(img, a.backbone, layers=a.layer, steps=a.steps, octaves=a.octaves, seed=a.seed)
    save_image(out, a.output, metadata={k: v for k, v in vars(a).items()})
    print(f"wrote {a.output}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train-fast":
        from .fast.train import main as train_main
        train_main(argv[1:])
        return 0
    a = build_parser().parse_args(argv)
    try:
        if a.command == "style":
            _run_style(a)
        elif a.command == "dream":
            _run_dream(a)
        elif a.command == "download":
            from .models import download
            for f in download(a.names):
                print(f"ok: {f}")
    except (CliError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        from .models import WeightsUnavailableError
        if isinstance(e, WeightsUnavailableError):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
