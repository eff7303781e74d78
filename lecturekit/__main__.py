"""Command line for instructors preparing material.

    python -m lecturekit style CONTENT STYLE -o OUT.png [--size 512 --steps 300 ...]
    python -m lecturekit dream IMAGE -o OUT.png [--layer stage3 --octaves 4]
    python -m lecturekit download vgg19 googlenet      # pre-download torchvision weights (needs internet)
    python -m lecturekit train-fast --style starry_night --out net.pt [...]
CONTENT/STYLE/IMAGE are file paths, URLs or names from the image registry (lk.data.names()).

Bad input is found before any work and printed as one line `error: ...`. Exit status: 0 done;
1 stopped on a NaN loss (the last picture with a finite loss is saved); 2 bad input, nothing computed;
130 interrupted with Ctrl-C (the partial picture is saved, with `stopped` and the steps done in its metadata).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import warnings
from pathlib import Path

from .configs import DREAM_OBJECTIVES, OPTIMIZERS, POOLINGS, PRECISIONS, DreamConfig, StyleConfig

EXIT_NAN, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130


class CliError(Exception):
    """A bad command line, found before any work; `problems` lists every one found (one message each)."""

    def __init__(self, *problems: str):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _package_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean bad input or a missing resource: printed as one `error:` line, exit 2."""
    import torch

    from .fast.stylize import CheckpointError
    from .models import UnknownLayerError, WeightsUnavailableError
    from .registry import UnknownImageError
    return (CliError, ValueError, OSError, UnknownLayerError, UnknownImageError, WeightsUnavailableError,
            CheckpointError, MemoryError, torch.OutOfMemoryError)


def _one_line(e: BaseException) -> str:
    """The error's message on one line (an out-of-memory error also says what to do)."""
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, MemoryError) or "out of memory" in text.lower():
        return f"out of memory ({text}); try a smaller --size"
    return text


def _int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes comma-separated integers, e.g. 256,512; got {text!r}") from None


def _blend(text):
    try:
        return [float(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--style-blend takes comma-separated numbers, got {text!r}") from None


def _parse_bool_or_auto(text: str):
    low = text.lower()
    if low in ("auto", "true", "false", "1", "0", "yes", "no"):
        return "auto" if low == "auto" else low in ("true", "1", "yes")
    raise argparse.ArgumentTypeError(f"takes true, false or auto; got {text!r}")


def _none_or(parse):
    return lambda text: None if text.lower() == "none" else parse(text)


def _str_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _parse_bool(text: str) -> bool:
    value = _parse_bool_or_auto(text)
    if value == "auto":
        raise argparse.ArgumentTypeError(f"takes true or false; got {text!r}")
    return value


def _option_parser(type_text: str):
    """The argparse type for a dataclass field's annotation (a string under `from __future__`)."""
    parsers = {"tuple[int": _int_list, "tuple[float": _blend, "tuple[str": _str_list, "bool | str": _parse_bool_or_auto,
               "bool": _parse_bool, "float": float, "int": int, "str": str, "object": str}
    parse = next(p for key, p in parsers.items() if type_text.startswith(key))
    return _none_or(parse) if "None" in type_text else parse


def add_config_options(parser: argparse.ArgumentParser, config, choices: dict | None = None,
                       aliases: dict | None = None) -> None:
    """One --option per field of the dataclass `config`, with the field's own default: a default is
    written once, in the config, and the command line cannot drift from the API. `aliases` gives a
    field more option names ({"layers": ["--layer"]})."""
    for f in dataclasses.fields(config):
        kw = {"choices": choices[f.name]} if choices and f.name in choices else {}
        names = ["--" + f.name.replace("_", "-"), *(aliases or {}).get(f.name, [])]
        parser.add_argument(*names, dest=f.name, default=f.default,
                            type=_option_parser(str(f.type)), help=f"default: {f.default}", **kw)


def config_values(args: argparse.Namespace, config) -> dict:
    """The parsed values of `config`'s fields."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(config)}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lecturekit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("style", help="neural style transfer (Gatys)",
                       description="Every option is a field of lk.StyleConfig, with the same default as "
                                   "lk.style_transfer(...): the command line and the API make the same picture.")
    s.add_argument("content")
    s.add_argument("style", nargs="+", help="one or more style images (blended)")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--backbone", default=None)
    add_config_options(s, StyleConfig, choices={"optimizer": OPTIMIZERS, "original_colors": ("luminance", "histogram"),
                                                "pooling": POOLINGS, "precision": PRECISIONS})
    d = sub.add_parser("dream", help="DeepDream",
                       description="Every option but --size and --backbone is a field of lk.configs.DreamConfig, "
                                   "with the same default as lk.deepdream(...).")
    d.add_argument("image")
    d.add_argument("-o", "--output", required=True)
    d.add_argument("--size", type=int, default=512, help="longest side the image is loaded at (default: 512)")
    d.add_argument("--backbone", default=None)
    add_config_options(d, DreamConfig, choices={"objective": DREAM_OBJECTIVES}, aliases={"layers": ["--layer"]})
    dl = sub.add_parser("download", help="pre-download torchvision weights into the torch hub cache")
    dl.add_argument("names", nargs="+")
    sub.add_parser("train-fast", help="train a fast style network (see --help)", add_help=False)
    return p


class _Problems:
    """Runs checks and keeps every ValueError's message, so that all problems are reported together."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except ValueError as e:
            self.found.append(" ".join(str(e).split()))
            return None

    def check_config(self, config, values: dict):
        """Build the dataclass `config` from `values`; a problem names the option (--steps), not the field."""
        found = len(self.found)
        made = self.check(config, **values)
        if len(self.found) > found:
            names = sorted((f.name for f in dataclasses.fields(config)), key=len, reverse=True)
            text = self.found[-1]
            name = next((n for n in names if text.startswith(n + " ")), None)
            self.found[-1] = "--" + name.replace("_", "-") + text[len(name):] if name else text
        return made

    def raise_if_any(self) -> None:
        if self.found:
            raise CliError(*self.found)


def _check_style_args(a, problems: _Problems) -> list[int]:
    """Every number of `style` checked before any work; returns the sizes of the stages."""
    from .checks import check_blend, check_multiscale, check_positive, check_size, check_steps, check_weight
    problems.check(check_steps, a.steps, "--steps")
    for option in ("style_weight", "content_weight", "tv_weight", "dream_weight", "colour_weight", "stroke_weight"):
        problems.check(check_weight, "--" + option.replace("_", "-"), getattr(a, option), allow_none=True)
    problems.check(check_positive, "--style-scale", a.style_scale)
    if a.style_blend is not None:
        a.style_blend = problems.check(check_blend, a.style_blend, len(a.style), "--style-blend")
    sizes = (problems.check(check_multiscale, a.multiscale, "--multiscale")
             or [problems.check(check_size, a.size, "--size", allow_none=False)])
    if sizes[-1] and not problems.found:
        problems.check(check_size, round(sizes[-1] * a.style_scale), "the style's size (--size x --style-scale)",
                       allow_none=False)
    if not problems.found:  # the rest of StyleConfig's own checks (prior, layers' weights, ...)
        problems.check(StyleConfig, **config_values(a, StyleConfig))
    return sizes


def _load(src: str, what: str, max_size: int | None, used_at: int):
    """Image `src` (path, URL or registered name) as (1, 3, H, W), refused if it has a side below 16 px
    or would have one when its longest side is resized to `used_at`."""
    from .checks import check_image_size, check_resized_side
    from .images import load_image
    x = load_image(src, max_size=max_size)
    check_resized_side(x, used_at, f"{what} {src}")
    return check_image_size(x, f"{what} {src}")


class _StepCounter:
    """A callback counting the optimization steps really done (over all octaves or stages)."""

    def __init__(self) -> None:
        self.steps = 0

    def __call__(self, step, image, terms) -> None:
        self.steps += 1


def _check_output(a, problems: _Problems, inputs: list[str]) -> Path | None:
    """The output and its .json sidecar writable, and not one of the inputs (which it would overwrite)."""
    from .checks import check_output_path, check_writable, sidecar_path
    output = problems.check(check_output_path, a.output)
    if output is None:
        return None
    if output.suffix.lower() != ".png":  # the settings go into a sidecar file beside the picture
        problems.check(check_writable, sidecar_path(output), "the settings")
    for src in inputs:
        if Path(src).exists() and Path(src).resolve() == output.resolve():
            problems.found.append(f"the output {a.output} is the input {src}: it would overwrite it. "
                                  "Choose another output name.")
    return output


def _run_style(a) -> int:
    problems = _Problems()
    output = _check_output(a, problems, [a.content, *a.style])
    sizes = _check_style_args(a, problems)
    problems.raise_if_any()
    from .style import style_transfer
    content = _load(a.content, "content", None, sizes[0])
    styles = [_load(s, "style", None, max(1, round(sizes[0] * a.style_scale))) for s in a.style]
    r = style_transfer(content, styles if len(styles) > 1 else styles[0], backbone=a.backbone, progress=True,
                       **config_values(a, StyleConfig))
    meta = {**r.config, "content": a.content, "style": a.style, "final_loss": r.loss, "steps": r.steps,
            "steps_requested": a.steps * len(sizes), "stopped": r.stopped}
    return _save(r.image, output, meta, r.stopped, r.message,
                 f"{r.steps} steps, loss {r.loss:.4g}, {r.seconds:.1f} s")


def _run_dream(a) -> int:
    from .checks import check_size
    problems = _Problems()
    output = _check_output(a, problems, [a.image])
    size = problems.check(check_size, a.size, "--size", allow_none=False)
    problems.check_config(DreamConfig, config_values(a, DreamConfig))
    problems.raise_if_any()
    from .dream import deepdream
    img = _load(a.image, "image", size, size)
    counter = _StepCounter()
    out = deepdream(img, a.backbone, callback=counter, **config_values(a, DreamConfig))
    image = out.image if hasattr(out, "image") else out
    # a Result says why it stopped; a bare tensor cannot, so fewer steps than asked count as an interrupt
    stopped = getattr(out, "stopped", None) or (None if counter.steps >= a.steps * a.octaves else "interrupted")
    settings = getattr(out, "config", {}) or {}
    meta = {**vars(a), "layer": settings.get("layers", a.layers), "steps": counter.steps,  # steps done, all octaves
            "steps_per_octave": a.steps, "prior": settings.get("prior"), "stopped": stopped}
    return _save(image, output, meta, stopped, getattr(out, "message", ""), f"{counter.steps} steps")


def _save(image, output: Path, meta: dict, stopped: str | None, message: str, summary: str) -> int:
    """Save the picture, even a partial one, and return the exit status its stop reason calls for."""
    from .images import save_image
    save_image(image, output, metadata=meta)
    if stopped == "nan":
        print(f"error: {' '.join(message.split()) or 'the loss became NaN'} The last picture with a finite loss "
              f"is in {output}.", file=sys.stderr)
        return EXIT_NAN
    if stopped == "interrupted":
        print(f"interrupted after {meta['steps']} steps: saved the partial picture to {output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"wrote {output} ({summary})")
    return 0


def _run_download(a) -> int:
    from .models import download
    for f in download(a.names):
        print(f"ok: {f}")
    return 0


def _run_train_fast(argv: list[str]) -> int:
    """`train-fast`: its --out is checked first (a .pt file in a usable folder), then it trains."""
    from .fast.cli import main as train_main
    from .checks import check_output_path
    for i, arg in enumerate(argv):
        if arg.startswith("--out="):
            check_output_path(arg.split("=", 1)[1], (".pt",), "a fast-style net")
        elif arg == "--out" and i + 1 < len(argv):
            check_output_path(argv[i + 1], (".pt",), "a fast-style net")
    return train_main(argv)


@contextlib.contextmanager
def _one_line_warnings():
    """Warnings (e.g. a renormalized --style-blend) print as `warning: ...`, without the source line."""
    saved = warnings.formatwarning
    warnings.formatwarning = lambda message, category, *rest, **kw: f"warning: {message}\n"
    try:
        yield
    finally:
        warnings.formatwarning = saved


COMMANDS = {"style": _run_style, "dream": _run_dream, "download": _run_download}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with _one_line_warnings():
        try:
            if argv and argv[0] == "train-fast":
                return _run_train_fast(argv[1:])
            a = build_parser().parse_args(argv)
            return COMMANDS[a.command](a)
        except KeyboardInterrupt:
            print("interrupted; nothing more was saved", file=sys.stderr)
            return EXIT_INTERRUPTED
        except SystemExit:  # argparse's usage errors: answered at once, before torch is imported
            raise
        except CliError as e:
            for problem in e.problems:
                print(f"error: {problem}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except _package_errors() as e:  # the tuple is built only once an exception is on its way
            print(f"error: {_one_line(e)}", file=sys.stderr)
            return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
