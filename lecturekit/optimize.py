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


@dataclass(frozen=True)
class RunControls:
    """How a caller watches and steers a run; every lesson function takes these four as keywords.

    progress: show a progress bar (never in CI). callback: callback(step, image, terms) after every
    step, for live plots and previews. should_stop: polled after every step; True ends the run and
    keeps the image so far (a Stop button). snapshots: global steps at which to keep the image.
    """

    progress: bool = True
    callback: Callable[[int, torch.Tensor, dict], None] | None = None
    should_stop: Callable[[], bool] | None = None
    snapshots: tuple[int, ...] = ()

    def shifted(self, offset: int, steps: int) -> "RunControls":
        """The controls of a stage that starts after `offset` global steps and runs `steps`."""
        callback = self.callback
        if callback is not None and offset:
            callback = lambda step, image, terms: self.callback(step + offset, image, terms)  # noqa: E731
        snaps = tuple(s - offset for s in self.snapshots if offset < s <= offset + steps or s == offset == 0)
        return RunControls(self.progress, callback, self.should_stop, snaps)


def optimize_stages(make_stage: Callable[[int, torch.Tensor | None], tuple[LossFn, torch.Tensor]],
                    sizes: list[int], steps: list[int], controls: RunControls = RunControls(),
                    desc: str = "optimizing", **options) -> Result:
    """Coarse-to-fine optimization: one `optimize_image` per size, each starting from the last.

    make_stage(size, previous image or None) -> (loss_fn, starting image at that size). `steps` gives
    each stage's budget; `options` go to `optimize_image`. Returns the joined Result of the stages.
    """
    from .checks import check_snapshots
    check_snapshots(controls.snapshots, sum(steps))
    result = None
    for size, n in zip(sizes, steps):
        if n == 0:  # fewer steps than stages: the coarse ones go first
            continue
        loss_fn, x0 = make_stage(size, None if result is None else result.image)
        done = 0 if result is None else result.steps
        label = f"{desc} {size}px" if len(sizes) > 1 else desc
        r = optimize_image(loss_fn, x0, steps=n, controls=controls.shifted(done, n), desc=label, **options)
        result = r if result is None else result.join(r)
        if r.stopped:
            break
    if result.stopped and size != sizes[-1]:  # stopped in a coarse stage: the picture at the size asked for
        result.image = make_stage(sizes[-1], result.image)[1].detach()
        result.message = f"{result.message} (stopped during the {size} px stage; enlarged to {sizes[-1]} px)".strip()
    return result


def initial_image(like: torch.Tensor, init: str | torch.Tensor = "noise", seed: int | None = None,
                  noise_std: float = 0.1, content: torch.Tensor | None = None,
                  style: torch.Tensor | None = None) -> torch.Tensor:
    """Starting image of an optimization, with the shape of `like` (1, 3, H, W), in [0, 1].

    init: "noise" (grey plus Gaussian noise of `noise_std`), "uniform" (uniform noise), "grey",
    "content" or "style" (those images, resized), or a tensor (resized to fit).
    """
    size = tuple(like.shape[-2:])
    if isinstance(init, torch.Tensor):
        return resize(init.detach().float().to(like.device).clamp(0, 1), size)
    if init in ("content", "style"):
        source = content if init == "content" else style
        if source is None:
            raise ValueError(f"init={init!r} needs a {init} image here")
        return resize(source.float().to(like.device), size).clone()
    gen = torch.Generator().manual_seed(0 if seed is None else seed)
    if init == "noise":
        return (0.5 + noise_std * torch.randn(like.shape, generator=gen)).clamp(0, 1).to(like.device)
    if init == "uniform":
        return torch.rand(like.shape, generator=gen).to(like.device)
    if init == "grey":
        return torch.full_like(like, 0.5)
    raise ValueError(f"init must be 'noise', 'uniform', 'grey', 'content', 'style' or a tensor, not {init!r}")


def optimize_image(loss_fn: LossFn, init: torch.Tensor, optimizer: str = "lbfgs", steps: int = 100,
                   lr: float | None = None, snapshots=(), maximize: bool = False,
                   clamp: tuple[float, float] | None = (0.0, 1.0), progress: bool = True,
                   callback: Callable[[int, torch.Tensor, dict], None] | None = None,
                   should_stop: Callable[[], bool] | None = None, desc: str = "optimizing",
                   schedule: str | None = None, controls: RunControls | None = None) -> Result:
    """Optimize the pixels of `init` (1, 3, H, W) in [0, 1] against `loss_fn`.

    Args:
        loss_fn: image -> {term: scalar}; summed terms form the objective (see module doc).
        optimizer: one of OPTIMIZERS; "lbfgs" does one function evaluation per step.
        steps, lr: the budget and step size (None: a default per optimizer).
        snapshots: steps at which to keep a copy of the image (0 = the start).
        maximize: gradient ascent instead of descent (DeepDream).
        clamp: keep pixels in this range after every step (None: no clamping).
        callback: called as callback(step, image, terms) after every step, for live plots.
        should_stop: polled after every step; True ends the run and keeps the image so far.
        schedule: None (constant lr) or "cosine" (lr decays to 0 over `steps`, which removes the last
            bit of noise that a constant-step method leaves).

        controls: a RunControls; when given it replaces progress, callback, should_stop and snapshots.

    Returns a Result. KeyboardInterrupt returns the best image so far; a NaN/inf loss stops the run with
    a warning and keeps the last image whose loss was finite.
    """
    if controls is not None:
        progress, callback, should_stop, snapshots = (controls.progress, controls.callback,
                                                      controls.should_stop, controls.snapshots)
    else:
        from .checks import check_snapshots
        snapshots = check_snapshots(snapshots, steps)
    image = init.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)  # L-BFGS needs it dense
    opt = make_optimizer(optimizer, [image], lr)
    if schedule not in (None, "cosine"):
        raise ValueError(f"schedule must be None or 'cosine', not {schedule!r}")
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule else None
    sign = -1.0 if maximize else 1.0
    result = Result(image=init.detach().clone(), config=dict(optimizer=optimizer, steps=steps, lr=lr))
    snapshot_steps = set(int(s) for s in snapshots)
    if 0 in snapshot_steps:
        result.snapshots[0] = init.detach().clone()
    state = {"best": math.inf, "terms": {}, "bad": False}

    def closure():
        opt.zero_grad(set_to_none=True)
        terms = loss_fn(image)
        total = sum(v for k, v in terms.items() if ":" not in k)
        if not torch.isfinite(total):
            state["bad"] = True
            image.grad = torch.zeros_like(image)
            return total
        (sign * total).backward()
        # keep detached values only, so the graph (all saved activations) is freed before the next step
        state["terms"], state["total"] = {k: v.detach() for k, v in terms.items()}, float(total.detach())
        if sign * state["total"] < state["best"]:
            state["best"] = sign * state["total"]
            result.image = image.detach().clone()
        return sign * total

    bar = progress_bar(steps, progress, desc)
    start = time.perf_counter()
    try:
        for step in range(1, steps + 1):
            opt.step(closure)
            if state["bad"]:  # result.image already holds the last image whose loss was finite
                result.stopped = "nan"
                result.message = (f"The loss became NaN or infinite at step {step}; stopped and kept the last "
                                  "image with a finite loss. Lower the learning rate or the loss weights.")
                warnings.warn(result.message, RuntimeWarning)
                break
            if clamp is not None:
                with torch.no_grad():
                    image.clamp_(*clamp)
            if scheduler is not None:
                scheduler.step()
            _record(result.history, state["terms"], state["total"])
            result.steps = step
            result.times.append(time.perf_counter() - start)
            if step in snapshot_steps:
                result.snapshots[step] = image.detach().clone()
            if callback is not None:
                callback(step, image.detach(), state["terms"])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{state['total']:.4g}", refresh=False)
            if should_stop is not None and should_stop():
                result.stopped, result.message = "stop", f"Stopped at step {step} of {steps}."
                break
        else:
            result.image = image.detach().clone()
        if result.stopped == "stop":
            result.image = image.detach().clone()
    except KeyboardInterrupt:
        result.stopped = "interrupted"
        result.message = f"Interrupted at step {result.steps} of {steps}; returning the best image so far."
        print(result.message)
    finally:
        if bar is not None:
            bar.close()
        result.seconds = time.perf_counter() - start
    return result
