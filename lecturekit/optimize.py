"""`optimize_image`: the one optimization loop behind every lesson.

DeepDream (ascent), feature inversion, texture synthesis and style transfer all optimize the pixels of
an image against a loss made of named terms. Only the loss function changes between lessons.

A loss function takes the image (1, 3, H, W) in [0, 1] and returns {term name: scalar tensor}. The
terms are summed into the objective, except "detail" terms whose name contains ":" (for example
"style:relu3_1"), which are only recorded.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch

from .configs import INITS, OPTIMIZERS  # noqa: F401  (re-exported: lk.OPTIMIZERS)
from .images import resize
from .utils import progress_bar

LossFn = Callable[[torch.Tensor], dict]
# L-BFGS remembers this many steps. torch's default of 100 costs a style-transfer step at 512 px about
# 0.08 s of vector arithmetic (its two-loop recursion runs over every remembered pair) and barely helps:
# with 20 the plain loss reaches the same values in 0-9 % more steps (bench/time_to_quality.py).
LBFGS_HISTORY = 20
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02, "sgd": 0.05, "adagrad": 0.05, "adadelta": 1.0, "rmsprop": 0.005,
              "normalized_gd": 1.5 / 255}


class NormalizedGD(torch.optim.Optimizer):
    """Gradient descent with the gradient divided by its mean absolute value (DeepDream's L1 trick).

    Each step moves every pixel by lr on average, whatever the scale of the objective.
    """

    def __init__(self, params, lr: float = 1.5 / 255, eps: float = 1e-8):
        super().__init__(params, dict(lr=lr, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(group["lr"] * (p.grad / (p.grad.abs().mean() + group["eps"])))
        return loss


def make_optimizer(name: str, params: list[torch.Tensor], lr: float | None) -> torch.optim.Optimizer:
    """One of OPTIMIZERS over `params`; lr None picks a default that works on [0, 1] images."""
    name = name.lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}. Choose one of: {', '.join(OPTIMIZERS)}")
    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=1, history_size=LBFGS_HISTORY)
    cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad,
           "adadelta": torch.optim.Adadelta, "rmsprop": torch.optim.RMSprop, "normalized_gd": NormalizedGD}[name]
    return cls(params, lr=lr)


@dataclass
class Result:
    """What an optimization gives back.

    image: (1, 3, H, W) in [0, 1], the final image (or the best one so far if the run was stopped).
    history: {term name: [value at each step]}; "total" is the objective.
    snapshots: {step: image} at the requested steps (step 0 is the start).
    seconds: wall-clock time of the loop; times: seconds elapsed at each step.
    steps: steps completed. stopped: None, "interrupted", "stop", "nan". message: what happened.
    """

    image: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)
    steps: int = 0
    stopped: str | None = None
    message: str = ""
    config: dict = field(default_factory=dict)

    @property
    def loss(self) -> float:
        """The last recorded value of the objective."""
        return self.history["total"][-1] if self.history.get("total") else math.nan

    def join(self, later: "Result") -> "Result":
        """This run followed by `later` (the next coarse-to-fine stage or octave), as one Result.

        Histories and times are concatenated, `later`'s snapshots are keyed by the global step, and the
        image, stop reason and message are `later`'s.
        """
        joined = Result(image=later.image, history={k: list(v) for k, v in self.history.items()},
                        snapshots={**self.snapshots, **{self.steps + s: im for s, im in later.snapshots.items()
                                                        if s or self.steps == 0}},
                        seconds=self.seconds + later.seconds, steps=self.steps + later.steps,
                        stopped=later.stopped, message=later.message, config={**self.config, **later.config})
        for k, v in later.history.items():
            joined.history.setdefault(k, []).extend(v)
        offset = self.times[-1] if self.times else 0.0
        joined.times = [*self.times, *(t + offset for t in later.times)]
        return joined

    def cpu(self) -> "Result":
        """This Result with its image and snapshots on the CPU (what a lesson hands back: a notebook's
        own tensors live there, whatever device the backbone runs on). A no-op on a CPU."""
        self.image = self.image.cpu()
        self.snapshots = {k: v.cpu() for k, v in self.snapshots.items()}
        return self

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.image.shape[-2:][::-1]))
        extra = f", stopped={self.stopped!r}" if self.stopped else ""
        return f"Result(image={shape}, steps={self.steps}, loss={self.loss:.4g}{extra})"


def _record(history: dict, terms: dict, total: float) -> None:
    for k, v in terms.items():
        history.setdefault(k, []).append(float(v))
    history.setdefault("total", []).append(total)


RUN_FIELDS = ("progress", "callback", "should_stop", "snapshots")


class Progress:
    """A progress bar with the running loss (none when hidden or in CI): the one place that draws one."""

    def __init__(self, total: int, show: bool, desc: str):
        self.bar = progress_bar(total, show, desc)

    def update(self, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass(frozen=True)
class RunControls:
    """How a caller watches and steers a run, the same for every pixel optimization and for training.

    progress: show a progress bar (never in CI). callback: callback(step, current, terms) after every
    step, for live plots and previews (current: the image, or the net being trained). should_stop:
    polled after every step; True ends the run and keeps the result so far (a Stop button). snapshots:
    global steps at which to keep the image (pixel optimizations). Every lesson function takes these
    four as keywords (`progress=False`, ...) or as one `controls=RunControls(...)`.

    What a run does when it cannot go on is the same everywhere: a NaN or infinite loss stops it and
    keeps the last result whose loss was finite, Ctrl-C stops it and keeps the result so far; both say
    so with a RuntimeWarning (`report`).
    """

    progress: bool = True
    callback: Callable[[int, object, dict], None] | None = None
    should_stop: Callable[[], bool] | None = None
    snapshots: tuple[int, ...] = ()

    @classmethod
    def take(cls, options: dict, controls: "RunControls | None" = None) -> "RunControls":
        """The controls named in the keyword dict `options` (removed from it), or `controls`."""
        given = {k: options.pop(k) for k in RUN_FIELDS if k in options}
        if controls is not None and given:
            raise TypeError(f"pass either controls= or {', '.join(given)}, not both")
        if controls is not None:
            return controls
        return cls(**{**given, "snapshots": tuple(given.get("snapshots") or ())})

    def shifted(self, offset: int, steps: int) -> "RunControls":
        """The controls of a stage that starts after `offset` global steps and runs `steps`."""
        callback = self.callback
        if callback is not None and offset:
            callback = lambda step, image, terms: self.callback(step + offset, image, terms)  # noqa: E731
        snaps = tuple(s - offset for s in self.snapshots if offset < s <= offset + steps or s == offset == 0)
        return RunControls(self.progress, callback, self.should_stop, snaps)

    def progress_bar(self, total: int, desc: str) -> Progress:
        return Progress(total, self.progress, desc)

    def after_step(self, step: int, current, terms: dict, loss: float, bar: Progress) -> bool:
        """Callback, progress bar and the stop button after a step; True when the caller should stop."""
        if self.callback is not None:
            self.callback(step, current, terms)
        bar.update(loss)
        return self.should_stop is not None and bool(self.should_stop())

    @staticmethod
    def report(reason: str, step: int, total: int, kept: str = "image") -> str:
        """The message of a run stopped for `reason` ("nan", "interrupted", "stop"); warns unless "stop"."""
        message = {
            "nan": f"The loss became NaN or infinite at step {step}; stopped and kept the last {kept} with a "
                   "finite loss. Lower the learning rate or the loss weights.",
            "interrupted": f"Interrupted at step {step} of {total}; stopped and kept the {kept} so far.",
            "stop": f"Stopped at step {step} of {total}.",
        }[reason]
        if reason != "stop":
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        return message


def optimize_stages(make_stage: Callable[[int, torch.Tensor | None], tuple[LossFn, torch.Tensor]],
                    sizes: list, steps: list[int], controls: RunControls = RunControls(),
                    desc: str = "optimizing", **options) -> Result:
    """Coarse-to-fine optimization: one `optimize_image` per size, each starting from the last.

    make_stage(size, previous image or None) -> (loss_fn, starting image at that size), or a third
    item, a dict of options for that stage's `optimize_image` (e.g. its parameterization, or a margin: then
    the start is a canvas and `previous` the picture inside it); a size is a
    longest side (int) or an (H, W) pair (DeepDream's octaves). `steps` gives each stage's budget;
    `options` go to every stage's `optimize_image`. Returns the joined Result of the stages; stopped in a coarse
    stage, its image is make_stage's start at the last size.
    """
    from .checks import check_snapshots
    check_snapshots(controls.snapshots, sum(steps))
    result = None
    for size, n in zip(sizes, steps):
        if n == 0:  # fewer steps than stages: the coarse ones go first
            continue
        loss_fn, x0, *extra = make_stage(size, None if result is None else result.image)
        done = 0 if result is None else result.steps
        label = f"{desc} {_px(size)}" if len(sizes) > 1 else desc
        r = optimize_image(loss_fn, x0, steps=n, controls=controls.shifted(done, n), desc=label,
                           **{**options, **(extra[0] if extra else {})})
        result = r if result is None else result.join(r)
        if r.stopped:
            break
    if result.stopped and size != sizes[-1]:  # stopped in a coarse stage: the picture at the size asked for
        _, x0, *extra = make_stage(sizes[-1], result.image)
        result.image = frame(x0.detach(), (extra[0] if extra else {}).get("margin", 0))
        result.message = (f"{result.message} (stopped during the {_px(size)} stage; enlarged to "
                          f"{_px(sizes[-1])})").strip()
    return result


def frame(canvas: torch.Tensor, margin: int) -> torch.Tensor:
    """The picture inside (N, C, H, W) `canvas`: without `margin` px on every side (0: the canvas)."""
    return canvas[..., margin:canvas.shape[-2] - margin, margin:canvas.shape[-1] - margin] if margin else canvas


def _px(size) -> str:
    """'256 px' for a longest side, '320×240 px' for an (H, W) pair."""
    return f"{size[1]}×{size[0]} px" if isinstance(size, tuple) else f"{size} px"


def initial_image(like: torch.Tensor, init: str | torch.Tensor = "noise", seed: int | None = None,
                  noise_std: float = 0.1, content: torch.Tensor | None = None,
                  style: torch.Tensor | None = None) -> torch.Tensor:
    """Starting image of an optimization, with the shape of `like` (1, 3, H, W), in [0, 1].

    init: "noise" (grey plus Gaussian noise of `noise_std`), "uniform" (uniform noise), "grey",
    "content" or "style" (those images, resized), "matched" (the content with each colour channel's
    histogram matched to the style's, `color.match_histogram`; the style may be any (1, 3, h, w) set of
    pixels, e.g. several paintings' pooled), or a tensor (resized to fit).
    """
    size = tuple(like.shape[-2:])
    if isinstance(init, torch.Tensor):
        return resize(init.detach().float().to(like.device).clamp(0, 1), size)
    needs = {"content": {"content": content}, "style": {"style": style},
             "matched": {"content": content, "style": style}}.get(init, {})
    missing = [name for name, image in needs.items() if image is None]
    if missing:
        raise ValueError(f"init={init!r} needs the {' and the '.join(missing)} image here")
    if init == "matched":
        from .color import match_histogram
        return match_histogram(resize(content.float().to(like.device), size), style.float().to(like.device))
    if init in ("content", "style"):
        return resize((content if init == "content" else style).float().to(like.device), size).clone()
    gen = torch.Generator().manual_seed(0 if seed is None else seed)
    if init == "noise":
        return (0.5 + noise_std * torch.randn(like.shape, generator=gen)).clamp(0, 1).to(like.device)
    if init == "uniform":
        return torch.rand(like.shape, generator=gen).to(like.device)
    if init == "grey":
        return torch.full_like(like, 0.5)
    raise ValueError(f"init must be 'noise', 'uniform', 'grey', 'content', 'style' or a tensor, not {init!r}")


def optimize_image(loss_fn: LossFn, init: torch.Tensor, *, optimizer: str = "lbfgs", steps: int = 100,
                   lr: float | None = None, maximize: bool = False,
                   clamp: tuple[float, float] | None = (0.0, 1.0), desc: str = "optimizing",
                   schedule: str | None = None, parameterization="pixels", margin: int = 0,
                   controls: RunControls | None = None, **run) -> Result:
    """Optimize an image, starting at `init` (1, 3, H, W) in [0, 1], against `loss_fn`.

    Args:
        loss_fn: image -> {term: scalar}; summed terms form the objective (see module doc).
        optimizer: one of OPTIMIZERS; "lbfgs" does one function evaluation per step.
        steps, lr: the budget and step size (None: a default per optimizer).
        maximize: gradient ascent instead of descent (DeepDream).
        clamp: keep pixels in this range after every step (None: no clamping).
        schedule: None (constant lr) or "cosine" (lr decays to 0 over `steps`, which removes the last
            bit of noise that a constant-step method leaves).
        parameterization: what the optimizer changes (`lecturekit.param`): "pixels" (the default) or
            "fourier" (a decorrelated, 1/f-scaled spectrum), "luminance" (Y only, the chroma of `init`
            kept), or a callable init -> parameterization.
        margin: the picture is painted on a canvas `margin` px wider than it on every side: `init` is
            that canvas, and so is what `loss_fn` gets, while the Result's image, its snapshots and the
            callback's image are the picture inside it (`frame`). Style transfer paints this way, so that
            its edge rows are painted like any other (`ImagePrior.canvas`).
        controls, **run: a RunControls, or its fields as keywords (progress=False, callback=...,
            should_stop=..., snapshots=(0, 50)).

    Returns a Result. Ctrl-C keeps the best image so far; a NaN/inf loss stops the run and keeps the last
    image whose loss was finite; both say so with a RuntimeWarning (`RunControls.report`).
    """
    from .checks import check_range
    from .param import make
    controls = RunControls.take(run, controls)
    check_range("margin", margin, minimum=0, maximum=(min(init.shape[-2:]) - 1) // 2, integer=True)
    param = make(parameterization, init)
    opt = make_optimizer(optimizer, param.params, lr)
    result = Result(image=frame(init.detach(), margin).clone(), config=dict(optimizer=optimizer, steps=steps, lr=lr))
    objective = _Objective(loss_fn, param, opt, result, -1.0 if maximize else 1.0, margin)
    return _run(objective, steps, _scheduler(schedule, opt, steps), clamp, controls, desc)


def _run(objective: "_Objective", steps: int, scheduler, clamp, controls: RunControls, desc: str) -> Result:
    """The loop of `optimize_image`: step, project, record, snapshot, report; stops on NaN and Ctrl-C."""
    from .checks import check_snapshots
    snapshots = set(check_snapshots(controls.snapshots, steps))
    result, param = objective.result, objective.param
    if 0 in snapshots:
        result.snapshots[0] = result.image.clone()
    bar = controls.progress_bar(steps, desc)
    start = time.perf_counter()
    try:
        for step in range(1, steps + 1):
            objective.opt.step(objective)
            if objective.bad:  # result.image already holds the last image whose loss was finite
                result.stopped, result.message = "nan", controls.report("nan", step, steps)
                break
            param.project(clamp)
            if scheduler is not None:
                scheduler.step()
            _record(result.history, objective.terms, objective.total)
            result.steps = step
            result.times.append(time.perf_counter() - start)
            image = objective.picture()
            if step in snapshots:
                result.snapshots[step] = image.clone()
            if controls.after_step(step, image, objective.terms, objective.total, bar):
                result.stopped, result.message = "stop", controls.report("stop", step, steps)
                break
        if result.stopped != "nan":
            result.image = objective.picture().clone()
    except KeyboardInterrupt:
        result.stopped = "interrupted"
        result.message = controls.report("interrupted", result.steps, steps, "best image")
    finally:
        bar.close()
        result.seconds = time.perf_counter() - start
    return result


def _scheduler(schedule: str | None, opt: torch.optim.Optimizer, steps: int):
    if schedule not in (None, "cosine"):
        raise ValueError(f"schedule must be None or 'cosine', not {schedule!r}")
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule else None


class _Objective:
    """The optimizer's closure: evaluates the loss on the parameterized image, back-propagates, keeps the
    best image and detached terms (so the graph is freed before the next step), and flags a NaN."""

    def __init__(self, loss_fn: LossFn, param, opt: torch.optim.Optimizer, result: Result, sign: float,
                 margin: int = 0):
        self.loss_fn, self.param, self.opt, self.result, self.sign = loss_fn, param, opt, result, sign
        self.best, self.terms, self.total, self.bad = math.inf, {}, math.nan, False
        self.margin = margin

    def picture(self) -> torch.Tensor:
        """The current picture (the canvas without its margin), detached."""
        return frame(self.param.image().detach(), self.margin)

    def __call__(self) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=True)
        image = self.param.image()
        terms = self.loss_fn(image)
        total = sum(v for k, v in terms.items() if ":" not in k)
        if not torch.isfinite(total):
            self.bad = True
            for p in self.param.params:
                p.grad = torch.zeros_like(p)
            return total
        (self.sign * total).backward()
        self.terms, self.total = {k: v.detach() for k, v in terms.items()}, float(total.detach())
        if self.sign * self.total < self.best:
            self.best = self.sign * self.total
            self.result.image = frame(image.detach(), self.margin).clone()
        return self.sign * total
