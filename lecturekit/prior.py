"""The image prior: what keeps a pixel optimization from painting speckle.

A CNN's strided convolutions see an image through a coarse grid. Left alone, an optimizer happily puts
energy into pixel-level patterns that the net barely sees (colour confetti, stride lattices), because
they are the cheapest way to move a Gram matrix or an activation. The prior has a few small pieces:

  1. the **view**: the loss network sees a bilinear 2x upsampling of the image (and a random shift of a
     few pixels, the jitter; for texture, the image first mirrored a few pixels outwards, the border).
     Upsampling low-passes the gradient that reaches the pixels, so strokes become broad and painterly
     instead of single-pixel speckle. Style transfer paints on a **canvas** a few pixels wider than the
     picture on every side and keeps the picture inside it, so that the picture's edge rows are painted
     like any other;
  2. **total variation** on luminance and, separately and stronger, on the two chroma channels: real
     photos and paintings have little fine colour detail, so colour noise is penalized hardest. Texture
     synthesis measures its luminance TV against the sample's own (`sample_tv`), so that a texture is as
     grainy as its sample, neither softer nor grainier;
  3. **coarse-to-fine** stages: most steps run at a fraction of the size (0.4 for style transfer, 0.5 for
     texture), where they are cheap and the layout forms,
     and the last steps refine at full size;
  4. for style transfer and texture, the painting's (the sample's) **palette**: the colours of small patches
     must be distributed like the painting's (`losses.colour_distribution_loss`), so that the Gram targets
     cannot be met with flat patches of a colour the painting does not have (a white sky under The Scream);
  5. for style transfer and texture, the painting's **strokes** (the sample's grain): the histograms of the
     bands of a Laplacian pyramid of the luminance must be the painting's (`losses.stroke_distribution_loss`,
     Heeger & Bergen 1995), so that the strokes are as light and as dark as the painting's, not a soft wash
     or a fog;
  6. a **final stage** of its own: the full-size stage changes the luminance only (the colours were formed
     in the coarse stages, so they cannot turn into speckle there) and sees the picture through a 1x view,
     which is 4x cheaper than the 2x one: many more full-size steps for the same time.

Every lesson takes `prior=` ("default", "plain" or None, a dict of overrides, or an ImagePrior); the
plain variant (no view, no TV, one stage) is one argument away, for the "what the prior does" figures.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .losses import TV_REFERENCE_SIDE, total_variation, tv_terms  # noqa: F401  (the one TV; re-exported)

MIN_STAGE = 64  # coarse stages smaller than this leave square blobs, so they are dropped


@dataclass(frozen=True)
class ImagePrior:
    """The pieces of the prior; the defaults here are the plain (no-prior) variant.

    view_scale: the loss network sees the image upsampled by this factor (1 = the image itself).
    jitter: largest random shift in pixels of the view at every step (0 = none). It suits terms that
        ignore position (Gram, DeepDream); a content or inversion target is not shifted with it.
    tv, chroma_tv: weights of luminance and chroma total variation (`losses.total_variation`, β = 2).
    sample_tv: weight of the luminance TV measured against the target's own, in texture synthesis
        (`losses.relative_tv_loss`: the grain 2 px wide matched to the sample's both ways, single-pixel grain
        capped at the sample's; per pixel step, the sample at the stage's scale). A fixed `tv` smooths every
        texture alike: on seven held-out samples the fine grain came out 0.52× a cubist sample's sharp planes
        and 2.47× a smooth portrait's; against the sample's own TV it is 0.75-1.18× on all seven
        (bench/results.md).
    stages: coarse-to-fine sizes as fractions of the final size, e.g. (0.5, 1.0).
    coarse_steps: the fraction of the step budget spent before the last stage.
    colour: weight of the target's palette in style transfer and texture synthesis
        (`losses.colour_distribution_loss` on the colours of small patches against the painting's or the
        sample's; the one prior term that needs a target image, so those lessons add it, not `penalty`).
    strokes: weight of the painting's stroke statistics in style transfer, or the sample's grain in texture
        synthesis (`losses.StrokeTargets`: the histograms of the luminance's band-pass images against the
        painting's or the sample's at the stage's scale).
    final_view_scale, final_luminance: the last (full-size) stage's view scale (None: `view_scale`) and
        whether it changes the luminance only (`param.Luminance`). They apply only to a last stage that
        starts from a coarser one; a single stage is an ordinary one.
    border: the view mirrors the image outwards by this many pixels, so that the pixels along the edges
        lie inside the network's view. EfficientNet's stride-2 convolutions pad one side only ("same"
        padding), so without a border the first columns and rows get an uneven gradient and can end
        up a seam of confetti. The mirror passes no gradient: a pixel near the edge is not counted twice
        (counted twice, it paints a line at `border` px from the edge). It includes the edge row and column
        (each of the `border` rows nearest an edge is seen twice, the edge row too): a mirror about the edge
        row would leave that row the only one seen once, and the first row or column then turned to colour
        confetti.
    canvas: paint on a canvas this many pixels wider than the picture on every side (at every stage's
        size), started from the picture mirrored outwards (`extend`), with the photo's content mirrored
        likewise, and keep the picture inside it (`optimize_image(margin=)`): the picture's edge rows are
        painted like any other row, with neighbours on both sides, and whatever the canvas's own edge does
        is cut away. Style transfer's default (8) replaces the border: in golden_gate × Escher's coarse
        stage (205 px) the chroma differences along the top row were 1.7× the middle's with the border,
        which painted the first rows as colour confetti, and 1.0× on the canvas. Texture synthesis takes
        it too; its default is 0.
    """

    view_scale: float = 1.0
    jitter: int = 0
    tv: float = 0.0
    chroma_tv: float = 0.0
    stages: tuple[float, ...] = (1.0,)
    coarse_steps: float = 0.0
    colour: float = 0.0
    strokes: float = 0.0
    final_view_scale: float | None = None
    final_luminance: bool = False
    border: int = 0
    canvas: int = 0
    sample_tv: float = 0.0

    def __post_init__(self):
        from .checks import ParameterError, check_range, check_weight
        check_range("prior view_scale", self.view_scale, minimum=0.25, maximum=4.0)
        check_range("prior jitter", self.jitter, minimum=0, integer=True)
        check_weight("prior tv", self.tv)
        check_weight("prior chroma_tv", self.chroma_tv)
        check_weight("prior colour", self.colour)
        check_weight("prior strokes", self.strokes)
        check_weight("prior sample_tv", self.sample_tv)
        if self.final_view_scale is not None:
            check_range("prior final_view_scale", self.final_view_scale, minimum=0.25, maximum=4.0)
        check_range("prior border", self.border, minimum=0, integer=True)
        check_range("prior canvas", self.canvas, minimum=0, maximum=MIN_STAGE // 4, integer=True)
        if not isinstance(self.final_luminance, bool):
            raise ParameterError(f"prior final_luminance must be True or False, not {self.final_luminance!r}")
        check_range("prior coarse_steps", self.coarse_steps, minimum=0.0, maximum=1.0)
        stages = tuple(self.stages) if isinstance(self.stages, (list, tuple)) else None
        if not stages or not all(isinstance(f, (int, float)) and 0 < f <= 1 for f in stages):
            raise ParameterError(f"prior stages must be fractions of the final size in (0, 1], e.g. (0.5, 1.0); "
                                 f"got {self.stages!r}")
        object.__setattr__(self, "stages", stages)

    def view(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """What the loss network sees of (N, 3, H, W): shifted by up to `jitter` px, mirrored outwards by
        `border` px, upsampled."""
        x = jitter(x, self.jitter, generator)
        if self.border:
            b = min(self.border, x.shape[-2] - 1, x.shape[-1] - 1)
            # the mirror image around the picture passes no gradient: an edge pixel is not counted twice
            x = _mirror(x.detach(), b) + F.pad(x - x.detach(), (b, b, b, b))
        if self.view_scale != 1.0:
            x = F.interpolate(x, scale_factor=self.view_scale, mode="bilinear", align_corners=False)
        return x

    def extend(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) mirrored outwards by `canvas` px on every side: the start of a canvas, or the photo
        that its content is measured against (`frame` in `optimize` cuts the picture out again)."""
        return _mirror(x, self.canvas) if self.canvas else x

    def final(self) -> "ImagePrior":
        """The prior of the last, full-size stage after coarser ones: its own view scale."""
        if self.final_view_scale is None or self.final_view_scale == self.view_scale:
            return self
        return dataclasses.replace(self, view_scale=self.final_view_scale)

    def largest_view(self, sizes: list[int]) -> int:
        """The longest side the loss network sees in any of the stages of `sizes`."""
        last = self.final().view_scale if len(sizes) > 1 else self.view_scale
        return round(max([s * self.view_scale for s in sizes[:-1]] + [sizes[-1] * last]))

    def penalty(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"tv": ..., "tv_chroma": ...} of (N, 3, H, W) in [0, 1]; only the terms with a weight."""
        return tv_terms(x, self.tv, self.chroma_tv)

    def stage_sizes(self, size: int) -> list[int]:
        """Longest sides of the coarse-to-fine stages for a final `size`, smallest first."""
        coarse = {round(size * f) for f in self.stages if MIN_STAGE <= round(size * f) < size}
        return sorted(coarse) + [size]

    def stage_steps(self, steps: int, n_stages: int) -> list[int]:
        """Split `steps` over `n_stages`: `coarse_steps` of them spread over the coarse stages."""
        if n_stages == 1:
            return [steps]
        coarse = min(steps - 1, round(steps * self.coarse_steps))
        per = [coarse // (n_stages - 1)] * (n_stages - 1)
        per[-1] += coarse - sum(per)
        return per + [steps - coarse]  # a stage with 0 steps is skipped: `steps` is the total, always


PLAIN = ImagePrior()
CANVAS_LESSONS = ("style", "texture")  # the lessons whose stages paint on a canvas (`ImagePrior.canvas`)

# Chosen by measurement (bench/prior_bench.py and bench/results.md) on the lecture images.
DEFAULTS = {
    "style": ImagePrior(view_scale=2.0, tv=3.0, chroma_tv=4000.0, stages=(0.4, 1.0), coarse_steps=0.75, colour=30000.0,
                        strokes=1000.0, final_view_scale=1.0, final_luminance=True, canvas=8),
    "texture": ImagePrior(view_scale=2.0, tv=0.0, chroma_tv=3000.0, stages=(0.5, 1.0), coarse_steps=0.5, colour=3000.0,
                          strokes=300.0, border=8, sample_tv=3.0),
    "inversion": ImagePrior(view_scale=1.0, jitter=0, tv=0.0, chroma_tv=16.0),
    "dream": ImagePrior(view_scale=2.0, jitter=0),
}


def resolve(prior, lesson: str) -> ImagePrior:
    """The ImagePrior that `prior=` names for `lesson` ("style", "texture", "inversion", "dream").

    "default": the measured default; None or "plain": no prior; a dict: the default with these fields
    replaced, e.g. {"tv": 0}; an ImagePrior: itself.
    """
    from .checks import ParameterError
    resolved = _resolve(prior, lesson)
    if resolved.canvas and lesson not in CANVAS_LESSONS:
        raise ParameterError(f"prior canvas paints on a larger canvas in {' and '.join(CANVAS_LESSONS)} only; "
                             f"{lesson} does not use it: leave it at 0")
    if resolved.sample_tv and lesson != "texture":
        raise ParameterError(f"prior sample_tv measures the TV against a texture sample's, in texture synthesis "
                             f"only; {lesson} does not use it: leave it at 0 (tv is the fixed TV)")
    return resolved


def _resolve(prior, lesson: str) -> ImagePrior:
    if isinstance(prior, ImagePrior):
        return prior
    if prior is None or prior == "plain":
        return PLAIN
    if prior == "default":
        return DEFAULTS[lesson]
    if isinstance(prior, dict):
        names = {f.name for f in dataclasses.fields(ImagePrior)}
        unknown = set(prior) - names
        if unknown:
            raise ValueError(f"prior has unknown keys {sorted(unknown)}; valid keys: {sorted(names)}")
        return dataclasses.replace(DEFAULTS[lesson], **prior)
    raise ValueError(f"prior must be 'default', 'plain', None, a dict or an ImagePrior, not {prior!r}")


def _mirror(x: torch.Tensor, b: int) -> torch.Tensor:
    """(N, C, H, W) mirrored outwards by b px on every side, the edge row and column included (each of the
    b rows and columns nearest an edge appears once more, mirrored)."""
    x = torch.cat([x[..., :b, :].flip(-2), x, x[..., -b:, :].flip(-2)], -2)
    return torch.cat([x[..., :b].flip(-1), x, x[..., -b:].flip(-1)], -1)


def jitter(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The one jitter: (N, C, H, W) rolled by a random (dx, dy), each in [-max_shift, max_shift]
    (wrapping around; dx is drawn first). Rolling is differentiable, so the gradient reaching the
    unshifted image is the unjittered one (google/deepdream's jitter and unjitter in one step)."""
    if not max_shift:
        return x
    dx, dy = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
