"""Interactive explorers for live lecture demos (ipywidgets).

Each explorer is a pure compute function plus its controls:
  - sliders use continuous_update=False; weights use log-scale sliders;
  - slow work runs on a Run button, in a background thread, with a progress bar, and shows the image as
    it forms; Stop ends the run at the next step and keeps the image so far;
  - results are cached by their parameters, so going back to an earlier setting is instant;
  - fast work (the fast-style blend) updates on every slider change, no button needed;
  - headless (nbval, nbclient, a static notebook viewer) the cell shows the default result as a PNG.

Tests call the compute functions (`dream_view`, `style_view`, ...) and `Explorer.run_sync` directly.
"""
from __future__ import annotations

import functools
import io
import textwrap
import threading
import time
from typing import Callable

import torch

from .images import image_bytes, load_image, resize

_SLIDER = dict(continuous_update=False, style={"description_width": "initial"})


# --------------------------------------------------------------------------- pure compute functions
def dream_view(image, backbone=None, *, layer: str, steps: int = 10, octaves: int = 3,
               step_size: float = 1.5, seed: int = 0, callback=None, should_stop=None) -> torch.Tensor:
    """DeepDream of `image` at one layer; returns (1, 3, H, W) in [0, 1]."""
    from .dream import deepdream
    return deepdream(image, backbone, layers=layer, steps=steps, octaves=octaves, step_size=step_size,
                     seed=seed, progress=False, callback=callback, should_stop=should_stop).image


def inversion_view(image, backbone=None, *, layer: str, steps: int = 150, tv_weight: float = 10.0,
                   callback=None, should_stop=None) -> torch.Tensor:
    """Reconstruction of `image` from its features at `layer`."""
    from .inversion import invert_features
    return invert_features(image, backbone, layer=layer, steps=steps, tv_weight=tv_weight, progress=False,
                           callback=callback, should_stop=should_stop).image


def texture_view(sample, backbone=None, *, depth: int = 3, steps: int = 100, seed: int = 0,
                 callback=None, should_stop=None) -> torch.Tensor:
    """Neural texture from the Grams of the first `depth` texture layers of the backbone."""
    from .models import load_backbone
    from .texture import synthesize_texture
    bb = load_backbone(backbone)
    layers = bb.defaults.texture_layers[:depth]
    return synthesize_texture(sample, bb, layers=layers, steps=steps, seed=seed, progress=False,
                              callback=callback, should_stop=should_stop).image


def style_view(content, style, backbone=None, *, style_weight: float = 1e3, content_weight: float = 1.0,
               content_layer: str | None = None, steps: int = 60, tv_weight: float = 3.0, size: int = 384,
               callback=None, should_stop=None) -> torch.Tensor:
    """Gatys style transfer with the lecture's hyperparameters. content_layer: a layer, several joined by
    " + " ("stage1 + stage2"), or None (the backbone's default)."""
    from .style import style_transfer
    return style_transfer(content, style, backbone=backbone, style_weight=style_weight,
                          content_weight=content_weight, tv_weight=tv_weight, steps=steps, size=size,
                          content_layers=content_layer.split(" + ") if content_layer else None, progress=False,
                          callback=callback, should_stop=should_stop).image


def style_blend_view(content, style_a, style_b, backbone=None, *, mix: float = 0.5, steps: int = 60,
                     size: int = 384, callback=None, should_stop=None) -> torch.Tensor:
    """Gatys style transfer toward the blend (1 − mix)·Gram(style_a) + mix·Gram(style_b)."""
    from .style import style_transfer
    return style_transfer(content, [style_a, style_b], backbone=backbone, style_blend=[1.0 - mix, mix],
                          steps=steps, size=size, progress=False, callback=callback,
                          should_stop=should_stop).image


def fast_view(image, *, net: str = "starry_night") -> torch.Tensor:
    """One pass of the shipped fast-style net `net` (a name from `lk.fast.list_styles()`) over `image`."""
    from .fast import stylize
    return stylize(_shipped_net(net), image)


@functools.lru_cache(maxsize=8)
def _shipped_net(name: str):
    from .fast import load_fast_style
    return load_fast_style(name)


def blend_view(net, image, *, a: int = 0, b: int = 1, mix: float = 0.5) -> torch.Tensor:
    """A conditional fast-style net painting `image` with (1 − mix)·style a + mix·style b."""
    from .fast import stylize
    return stylize(net, image, {a: 1.0} if a == b else {a: 1.0 - mix, b: mix})


# --------------------------------------------------------------------------- the explorer
class Explorer:
    """Controls + a compute function + a cached, threaded Run/Stop loop.

    Args:
        compute: compute(**params, callback=..., should_stop=...) -> image tensor (1, 3, H, W).
        controls: {param name: ipywidget}; their values are the params.
        total_steps: params -> number of callback calls expected (for the progress bar).
        live: recompute on every control change, synchronously (for fast computations).
        preview_size: longest side of the image shown.
    The default result is computed at construction, so the cell always shows a picture.
    """

    def __init__(self, compute: Callable, controls: dict, title: str = "", total_steps=None,
                 live: bool = False, preview_size: int = 512, fixed: dict | None = None):
        import ipywidgets as w
        self.compute, self.controls, self.live, self.title = compute, controls, live, title
        self.fixed = dict(fixed or {})
        self.total_steps = total_steps or (lambda p: p.get("steps", 1))
        self.preview_size = preview_size
        self.cache: dict[tuple, torch.Tensor] = {}
        self.compute_count = 0
        self.error: BaseException | None = None
        self.last_partial: torch.Tensor | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.image = w.Image(format="png", width=preview_size)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="progress")
        self.status = w.Label("")
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        buttons = [] if live else [w.HBox([self.run_button, self.stop_button, self.progress])]
        header = [w.HTML(f"<b>{title}</b>")] if title else []
        row = (w.HBox if len(controls) <= 3 else w.VBox)(list(controls.values()))
        self.widget = w.VBox(header + [row] + buttons + [self.image, self.status])
        if live:
            for c in controls.values():
                c.observe(lambda _: self.run_sync(), names="value")
        self.result = self.run_sync()

    # -- parameters and cache
    def params(self) -> dict:
        return {k: c.value for k, c in self.controls.items()}

    def _key(self, params: dict) -> tuple:
        return tuple(sorted((k, round(v, 8) if isinstance(v, float) else v) for k, v in params.items()))

    def _preview(self, img: torch.Tensor) -> bytes:
        """PNG bytes, downscaled to preview_size if larger (the browser scales small ones up smoothly)."""
        img = img.detach().cpu()
        if max(img.shape[-2:]) > self.preview_size:
            img = resize(img, self.preview_size)
        return image_bytes(img)

    def caption(self) -> str:
        """The parameters of the picture shown, e.g. "layer=stage4, steps=8, octaves=3"."""
        labels = {k: c.label for k, c in self.controls.items() if getattr(c, "label", None) is not None}
        shown = {**{k: v for k, v in self.fixed.items() if isinstance(v, (int, float, str))}, **self.params(),
                 **labels}  # a dropdown shows its label ("starry_night"), not its value (0)
        return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())

    def fallback_png(self, min_width: int = 768) -> bytes:
        """The current result as a PNG for static viewers: at least `min_width` px wide (readable on a
        projector), captioned with its parameters in a font that grows with the width."""
        from PIL import Image, ImageDraw, ImageFont
        from matplotlib import font_manager

        from .images import to_pil
        img = to_pil(self.result)
        if img.width < min_width:
            img = img.resize((min_width, round(img.height * min_width / img.width)), Image.BICUBIC)
        points = max(16, img.width // 32)
        font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), points)
        per_line = max(20, int(img.width / (0.6 * points)))  # DejaVu Sans is about 0.6 em a character
        lines = ([self.title] if self.title else []) + textwrap.wrap(self.caption(), per_line)
        line_height = round(1.5 * points)
        canvas = Image.new("RGB", (img.width, img.height + line_height * len(lines) + 8), "white")
        canvas.paste(img, (0, 0))
        draw = ImageDraw.Draw(canvas)
        for i, line in enumerate(lines):
            draw.text((6, img.height + 4 + line_height * i), line, fill=(40, 40, 40), font=font)
        buf = io.BytesIO()
        canvas.save(buf, format="PNG")
        return buf.getvalue()

    def _show(self, img: torch.Tensor) -> None:
        self.image.value = self._preview(img)

    # -- your own photo
    def add_upload(self, key: str, max_size: int | None = None, label: str = "your photo") -> "Explorer":
        """Put a file-upload box above the picture: a photo chosen there (a phone JPEG is turned upright by
        its EXIF orientation) replaces the fixed input `key`, at most `max_size` px, and is painted anew."""
        import ipywidgets as w
        self.upload_key, self.upload_size = key, max_size or max(self.fixed[key].shape[-2:])
        self.upload = w.FileUpload(accept="image/*", multiple=False, description=label)
        self.upload.observe(lambda change: self.use_upload(change["new"]), names="value")
        children = list(self.widget.children)
        children.insert(1 if self.title else 0, self.upload)  # under the title, above the controls
        self.widget.children = tuple(children)
        return self

    def use_upload(self, value) -> torch.Tensor | None:
        """Load the last file of a FileUpload value (a tuple of {"name", "content", ...}; a dict in
        ipywidgets 7) as the new input and recompute. A file that is not an image is reported in the
        status line and changes nothing."""
        files = list(value.values()) if isinstance(value, dict) else list(value or ())
        if not files:
            return None
        upload = files[-1]
        try:
            photo = load_image(bytes(upload["content"]), max_size=self.upload_size)
        except (ValueError, TypeError) as e:  # ImageLoadError is a ValueError
            self.status.value = f"could not use {upload.get('name', 'that file')}: {e}"
            return None
        self.fixed[self.upload_key] = photo
        self.cache.clear()
        using = f"using {upload.get('name', 'your photo')} ({photo.shape[-1]}×{photo.shape[-2]} px)"
        if self.live:
            self.run_sync()
            self.status.value = f"{using}; {self.status.value}"
        else:
            self.status.value = using  # the run's own status follows when it ends
            self.run()
        return photo

    # -- running
    def run_sync(self, **overrides) -> torch.Tensor:
        """Compute (or fetch from the cache) the result for the current controls, in this thread."""
        params = {**self.params(), **overrides}
        key = self._key(params)
        if key not in self.cache:
            t0 = time.perf_counter()
            img = self.compute(**self.fixed, **params)
            self.compute_count += 1
            self.cache[key] = img
            self.status.value = f"computed in {time.perf_counter() - t0:.2f} s"
        else:
            self.status.value = "from cache"
        self.result = self.cache[key]
        self._show(self.result)
        return self.result

    def run(self) -> threading.Thread | None:
        """Start the computation in a background thread (or show the cached result at once)."""
        params = self.params()
        key = self._key(params)
        if key in self.cache:
            return self.run_sync()
        if self._thread is not None and self._thread.is_alive():
            self.status.value = "already running; press Stop first"
            return self._thread
        self._stop.clear()
        self.error = None
        self.progress.max, self.progress.value = max(1, int(self.total_steps(params))), 0
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._thread = threading.Thread(target=self._work, args=(params, key), daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask the running computation to end at its next step (it keeps the image so far)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _callback(self, step, image, terms) -> None:
        self.progress.value = min(self.progress.value + 1, self.progress.max)
        self.last_partial = image.detach().clone()
        if self.progress.value % 5 == 0:
            self._show(image)

    def _work(self, params: dict, key: tuple) -> None:
        t0 = time.perf_counter()
        try:
            img = self.compute(**self.fixed, **params, callback=self._callback, should_stop=self._stop.is_set)
            self.compute_count += 1
            self.result = img
            self._show(img)
            if self._stop.is_set():
                self.status.value = f"stopped after {self.progress.value} steps (partial result kept)"
            else:
                self.cache[key] = img
                self.status.value = f"done in {time.perf_counter() - t0:.1f} s"
        except Exception as e:  # shown in the widget, kept for tests; never lost in the thread
            self.error = e
            self.status.value = f"error: {type(e).__name__}: {e}"
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True

    # -- display: the live widget, with the current result as a PNG fallback for static viewers
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data = dict(data)
        data["image/png"] = self.fallback_png()
        data["text/plain"] = f"<{type(self).__name__}: {self.status.value}>"
        return data


# --------------------------------------------------------------------------- ready-made explorers
def _layer_dropdown(options, value, description="layer"):
    import ipywidgets as w
    return w.Dropdown(options=list(options), value=value, description=description)


def dream_explorer(image, backbone=None, layers=None, steps: int = 8, octaves: int = 3, step_size: float = 1.5,
                   upload: bool = True):
    """Layer selector, steps, octaves and step size for DeepDream (and an upload box for your own photo)."""
    import ipywidgets as w
    from .models import load_backbone
    bb = load_backbone(backbone)
    layers = list(layers or bb.defaults.dream_layer_grid)
    controls = {"layer": _layer_dropdown(layers, bb.defaults.dream_layers[0] if bb.defaults.dream_layers[0] in layers
                                         else layers[0]),
                "steps": w.IntSlider(value=steps, min=1, max=40, description="steps/octave", **_SLIDER),
                "octaves": w.IntSlider(value=octaves, min=1, max=6, description="octaves", **_SLIDER),
                "step_size": w.FloatSlider(value=step_size, min=0.25, max=5.0, step=0.25, description="step size",
                                           **_SLIDER)}
    explorer = Explorer(dream_view, controls, "DeepDream", fixed=dict(image=image, backbone=bb),
                        total_steps=lambda p: p["steps"] * p["octaves"])
    return explorer.add_upload("image") if upload else explorer


def inversion_explorer(image, backbone=None, layers=None, steps: int = 100):
    """Layer selector, steps and TV weight for feature inversion."""
    import ipywidgets as w
    from .models import load_backbone
    bb = load_backbone(backbone)
    layers = list(layers or bb.defaults.inversion_layers)
    controls = {"layer": _layer_dropdown(layers, layers[len(layers) // 2]),
                "steps": w.IntSlider(value=steps, min=10, max=500, step=10, description="steps", **_SLIDER),
                "tv_weight": w.FloatLogSlider(value=10.0, base=10, min=-1, max=3, description="TV weight λ",
                                              **_SLIDER)}
    return Explorer(inversion_view, controls, "Feature inversion", fixed=dict(image=image, backbone=bb))


def texture_explorer(sample, backbone=None, steps: int = 80, depth: int = 3):
    """Layer-depth slider and steps for Gram texture synthesis."""
    import ipywidgets as w
    from .models import load_backbone
    bb = load_backbone(backbone)
    controls = {"depth": w.IntSlider(value=depth, min=1, max=len(bb.defaults.texture_layers),
                                     description="layers used", **_SLIDER),
                "steps": w.IntSlider(value=steps, min=10, max=400, step=10, description="steps", **_SLIDER)}
    return Explorer(texture_view, controls, "Neural texture", fixed=dict(sample=sample, backbone=bb))


def style_explorer(content, style, backbone=None, steps: int = 60, size: int = 384, layers=None,
                   upload: bool = True):
    """Content/style weights on log scales, content layer, iterations and TV weight (and an upload box
    for your own photo as the content)."""
    import ipywidgets as w
    from .models import load_backbone
    bb = load_backbone(backbone)
    layers = list(layers or bb.layers)
    default_layer = " + ".join(bb.defaults.gatys_content_layers)  # several layers: one choice, "stage1 + stage2"
    layers = ([default_layer] if default_layer not in layers else []) + layers
    controls = {"style_weight": w.FloatLogSlider(value=1e3, base=10, min=0, max=6, description="style weight β",
                                                 **_SLIDER),
                "content_weight": w.FloatLogSlider(value=1.0, base=10, min=-2, max=2,
                                                   description="content weight α", **_SLIDER),
                "content_layer": _layer_dropdown(layers, default_layer, "content layer"),
                "steps": w.IntSlider(value=steps, min=10, max=300, step=10, description="iterations", **_SLIDER),
                "tv_weight": w.FloatLogSlider(value=3.0, base=10, min=-2, max=3, description="TV weight",
                                              **_SLIDER)}
    explorer = Explorer(style_view, controls, "Neural style transfer",
                        fixed=dict(content=content, style=style, backbone=bb, size=size))
    return explorer.add_upload("content", max_size=size) if upload else explorer


def style_blend_explorer(content, style_a, style_b, backbone=None, steps: int = 60, size: int = 384):
    """A 0..1 slider between two styles for optimization-based style transfer."""
    import ipywidgets as w
    from .models import load_backbone
    bb = load_backbone(backbone)
    controls = {"mix": w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="style A → B",
                                     **_SLIDER),
                "steps": w.IntSlider(value=steps, min=10, max=300, step=10, description="iterations", **_SLIDER)}
    return Explorer(style_blend_view, controls, "Blending two styles",
                    fixed=dict(content=content, style_a=style_a, style_b=style_b, backbone=bb, size=size))


def fast_style_explorer(image, size: int = 512, upload: bool = True):
    """The shipped fast-style nets: a net dropdown, live (one pass each), and an upload box."""
    import ipywidgets as w
    from .fast import list_styles
    names = list_styles()
    controls = {"net": w.Dropdown(options=names, value="starry_night" if "starry_night" in names else names[0],
                                  description="network")}
    explorer = Explorer(fast_view, controls, "Fast style transfer: one pass", live=True,
                        fixed=dict(image=resize(image, size)), preview_size=size)
    return explorer.add_upload("image", max_size=size) if upload else explorer


def blend_explorer(net, image, size: int = 512):
    """A conditional fast-style net: two style dropdowns and a live mixing slider."""
    import ipywidgets as w
    names = getattr(net, "styles", None) or [f"style {i}" for i in range(net.n_styles)]
    options = [(n, i) for i, n in enumerate(names)]
    controls = {"a": w.Dropdown(options=options, value=0, description="style A"),
                "b": w.Dropdown(options=options, value=min(1, net.n_styles - 1), description="style B"),
                "mix": w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="A → B", **_SLIDER)}
    return Explorer(blend_view, controls, "One network, many styles", live=True,
                    fixed=dict(net=net, image=resize(image, size)), preview_size=size)


def arbitrary_view(photo, own, vectors: dict, uploaded=None, *, painting: str = "starry_night",
                   strength: float = 1.0) -> torch.Tensor:
    """Ghiasi et al.'s arbitrary-style net: `photo` painted with strength·S(painting) + (1 − strength)·S(photo).

    own: the photo's style vector S(photo); vectors: {painting name: its style vector} (a cache);
    uploaded: the painting named "your painting"."""
    from .fast.arbitrary import stylize_arbitrary, style_vector
    key = ("your painting", id(uploaded)) if painting == "your painting" else painting
    if key not in vectors:
        if uploaded is None:
            raise ValueError("no painting uploaded yet: choose a file in the upload box")
        vectors[key] = style_vector(uploaded)
    return stylize_arbitrary(photo, strength * vectors[key] + (1.0 - strength) * own)


def arbitrary_explorer(photo, paintings=None, size: int = 512, upload: bool = True):
    """Any painting, one pass: a painting dropdown, a strength slider (both live) and an upload box for
    your own painting. Style vectors are computed once per painting, so a change costs one pass."""
    import ipywidgets as w
    from . import data
    from .fast.arbitrary import style_vector
    photo = resize(photo, size)
    names = list(paintings or data.names(role="style"))
    vectors = {n: style_vector(n) for n in names}
    controls = {"painting": w.Dropdown(options=names, value="starry_night" if "starry_night" in names else names[0],
                                       description="painting"),
                "strength": w.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="strength", **_SLIDER)}
    explorer = Explorer(arbitrary_view, controls, "Any painting, one pass", live=True, preview_size=size,
                        fixed=dict(photo=photo, own=style_vector(photo), vectors=vectors, uploaded=None))
    if upload:
        explorer.add_upload("uploaded", max_size=512, label="your painting")
        explorer.upload.observe(lambda change: _select_uploaded(explorer), names="value")
    return explorer


def _select_uploaded(explorer) -> None:
    """After an upload: "your painting" becomes a choice of the dropdown, and is chosen."""
    if explorer.fixed.get("uploaded") is None:
        return
    dropdown = explorer.controls["painting"]
    if "your painting" not in dropdown.options:
        dropdown.options = [*dropdown.options, "your painting"]
    if dropdown.value == "your painting":  # a second upload: the choice does not change, so paint anew
        explorer.run_sync()
    dropdown.value = "your painting"
