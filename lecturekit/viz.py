"""Plotting for the notebooks (matplotlib). Compute modules never import this."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


PROJECTOR = {"figure.dpi": 150, "savefig.dpi": 150, "font.size": 12, "axes.titlesize": 14,
             "figure.titlesize": 15, "axes.labelsize": 12, "legend.fontsize": 11}
MAX_COLUMNS = 4  # more panels a row cannot be read from the back of a room


def projector_style() -> None:
    """Figures a projector can show: 150 dpi, 14 pt titles (applied when `viz` is imported)."""
    plt.rcParams.update(PROJECTOR)


projector_style()


def layer_label(backbone, layer: str, image_side: int = 256) -> str:
    """"stage3 · 80 ch · 1/16": the layer's name, channels and stride, for figure titles."""
    with torch.no_grad():
        x = torch.zeros(1, 3, image_side, image_side, device=backbone.mean.device)
        f = backbone.features(x, layer)[layer]
    return f"{layer} · {f.shape[1]} ch · 1/{max(1, round(image_side / f.shape[-1]))}"


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) or (3, H, W) in [0, 1] -> (H, W, 3) float array for imshow."""
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    return x.clamp(0, 1).permute(1, 2, 0).numpy()


def show_images(images: Sequence[torch.Tensor] | dict, titles: Sequence[str] | None = None, ncols: int | None = None,
                size: float = 3.2, suptitle: str | None = None, credits: str | None = None,
                same_scale: bool = False):
    """A grid of images (each (1, 3, H, W) in [0, 1]) with titles; a dict maps titles to images.

    At most MAX_COLUMNS a row; `size` is a panel's width in inches (3.2 in at 150 dpi = 480 px), and
    each panel keeps its own aspect ratio. same_scale=True draws every image at the same inches per
    pixel (`size` inches for 256 px), pixels as blocks, in one row, so that sizes can be compared: a
    256 px texture beside its 128 px sample is twice as wide. `credits` is printed under the grid.
    Shows the figure and returns nothing, so a cell ending with this call does not draw it twice.
    """
    if isinstance(images, dict):
        titles, images = list(images), list(images.values())
    images = list(images)
    titled = bool(titles) and any(titles)
    if same_scale:
        fig, axes = _same_scale_axes(images, size / 256, titled)
    else:
        fig, axes = _grid_axes(images, ncols, size, titled)
    for i, img in enumerate(images):
        ax = axes[i]
        ax.imshow(to_numpy(img), interpolation="nearest" if same_scale else "antialiased")
        if titled and i < len(titles) and titles[i]:
            ax.set_title(titles[i])
    if suptitle:
        fig.suptitle(suptitle)
    if credits:
        fig.text(0.01, 0.0, credits, fontsize=9, va="top", ha="left", color="0.3")
    fig.tight_layout()
    plt.show()


def _grid_axes(images: list, ncols: int | None, size: float, titled: bool):
    """Figure and axes of a grid whose row height fits the tallest panel (titles only if any)."""
    n = len(images)
    ncols = min(ncols or n, MAX_COLUMNS, n)
    nrows = (n + ncols - 1) // ncols
    aspect = max(im.shape[-2] / im.shape[-1] for im in images)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(size * ncols, (size * aspect + (0.6 if titled else 0.1)) * nrows))
    for ax in axes.flat:
        ax.axis("off")
    return fig, list(axes.flat)


def _same_scale_axes(images: list, inches_per_px: float, titled: bool):
    """One row of axes as wide as their images at `inches_per_px`, top-aligned."""
    widths = [im.shape[-1] for im in images]
    height = max(im.shape[-2] for im in images) * inches_per_px + (0.8 if titled else 0.2)
    fig, axes = plt.subplots(1, len(images), squeeze=False, gridspec_kw={"width_ratios": widths},
                             figsize=(inches_per_px * sum(widths) + 0.25 * len(images), height))
    for ax in axes.flat:
        ax.axis("off")
        ax.set_anchor("N")
    return fig, list(axes.flat)


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over up to `window` values (noisy training curves)."""
    return [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
            for i in range(len(values))]


def plot_losses(histories: dict, x: str = "step", logy: bool = True, ax=None, title: str | None = None,
                times: dict | None = None, smooth: int = 1):
    """Loss curves: {label: list of values} or {label: Result}; x="seconds" uses each Result's times;
    smooth > 1 plots a trailing moving average over that many steps."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for label, h in histories.items():
        values = h.history["total"] if hasattr(h, "history") else h
        values = moving_average(values, smooth) if smooth > 1 else values
        if x == "seconds":
            xs = h.times if hasattr(h, "times") else times[label]
        else:
            xs = range(1, len(values) + 1)
        ax.plot(list(xs)[:len(values)], values, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("seconds" if x == "seconds" else "iteration")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    if len(histories) > 1:
        ax.legend()
    return ax


def plot_terms(result, ax=None, title: str = "loss per term"):
    """The summed terms of one Result (content, style, tv, ...) against the iteration."""
    terms = {k: v for k, v in result.history.items() if ":" not in k and k != "total"}
    return plot_losses(terms, ax=ax, title=title)


def plot_layer_bars(result, prefix: str = "style", ax=None, title: str | None = None):
    """Bar chart of the final per-layer terms "prefix:layer" of a Result."""
    items = {k.split(":", 1)[1]: v[-1] for k, v in result.history.items() if k.startswith(prefix + ":")}
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    ax.bar(list(items), list(items.values()), color="tab:purple")
    ax.set_ylabel(f"final {prefix} loss")
    ax.set_title(title or f"{prefix} loss per layer")
    ax.tick_params(axis="x", rotation=30)
    return ax


def show_heatmap(matrix: torch.Tensor, title: str = "", ax=None, cmap: str | None = None,
                 symmetric: bool = False):
    """A matrix (e.g. a Gram matrix, (C, C) or (1, C, C)) as a heat map with a colour bar.

    symmetric=True centres the colour scale on 0 (limits ±max |entry|, white = 0, a diverging map),
    so that negative entries show as such; cmap None picks "RdBu_r" then, else "viridis".
    """
    m = matrix.detach().float().cpu()
    m = m[0] if m.dim() == 3 else m
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.4))
    limits = {}
    if symmetric:
        v = float(m.abs().max()) or 1.0
        limits = dict(vmin=-v, vmax=v)
    im = ax.imshow(m.numpy(), cmap=cmap or ("RdBu_r" if symmetric else "viridis"), **limits)
    ax.set_title(title)
    plt.colorbar(im, ax=ax, fraction=0.046)
    return ax


class LivePlot:
    """Loss curves that redraw while an optimization runs: pass `live.update` as the callback.

    Draws every `every` steps into one display handle, so the notebook shows a single figure.
    """

    def __init__(self, every: int = 10, title: str = "loss while optimizing"):
        from IPython.display import display
        self.every, self.title = every, title
        self.history: dict[str, list[float]] = {}
        self.fig, self.ax = plt.subplots(figsize=(5, 3.2))
        plt.close(self.fig)
        self.handle = display(self.fig, display_id=True)

    def update(self, step: int, image: torch.Tensor, terms: dict) -> None:
        for k, v in terms.items():
            if ":" not in k:
                self.history.setdefault(k, []).append(abs(float(v.detach())))
        if step % self.every == 0:
            self.ax.clear()
            plot_losses(self.history, ax=self.ax, title=self.title)
            if self.handle is not None:
                self.handle.update(self.fig)
