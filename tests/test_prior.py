"""The image prior's pieces: shapes, identity cases, size independence and gradients that flow."""
import pytest
import torch

from lecturekit.color import rgb_to_ycc, ycc_to_rgb
from lecturekit.losses import total_variation as ycc_tv
from lecturekit.prior import DEFAULTS, MIN_STAGE, PLAIN, ImagePrior, resolve


def test_plain_view_is_the_identity_and_has_no_penalty():
    x = torch.rand(1, 3, 20, 30)
    assert torch.equal(PLAIN.view(x), x)
    assert PLAIN.penalty(x) == {}
    assert PLAIN.stage_sizes(384) == [384] and PLAIN.stage_steps(200, 1) == [200]


def test_view_upsamples_and_jitter_only_shifts():
    x = torch.rand(2, 3, 16, 24)
    assert ImagePrior(view_scale=2.0).view(x).shape == (2, 3, 32, 48)
    g = torch.Generator().manual_seed(0)
    shifted = ImagePrior(jitter=3).view(x, g)
    assert shifted.shape == x.shape
    assert torch.allclose(shifted.sum(), x.sum())  # a roll keeps every pixel


def test_ycc_tv_is_zero_on_flat_images_and_separates_chroma_from_luminance():
    flat = torch.full((1, 3, 16, 16), 0.3)
    lum, chroma = ycc_tv(flat)
    assert float(lum) == 0 and float(chroma) == 0
    grey_noise = torch.rand(1, 1, 16, 16).expand(1, 3, 16, 16)  # luminance only
    lum, chroma = ycc_tv(grey_noise)
    assert float(lum) > 0 and float(chroma) < 1e-10
    ycc = rgb_to_ycc(torch.tensor([1.0, 1.0, 1.0]).view(1, 3, 1, 1))
    assert torch.allclose(ycc[:, :1], torch.ones(1, 1, 1, 1)) and torch.allclose(ycc[:, 1:], torch.zeros(1, 2, 1, 1),
                                                                                 atol=1e-6)
    x = torch.rand(2, 3, 5, 4)
    assert torch.allclose(ycc_to_rgb(rgb_to_ycc(x)), x, atol=1e-6)


def test_tv_weight_means_the_same_at_every_size():
    ramp = torch.linspace(0, 1, 64)[None, None, None, :].expand(1, 3, 64, 64)
    big = torch.nn.functional.interpolate(ramp, size=(256, 256), mode="bilinear", align_corners=True)
    small, large = ycc_tv(ramp)[0], ycc_tv(big)[0]
    assert float(large) == pytest.approx(float(small), rel=0.05)


def test_tv_gradient_matches_finite_differences():
    x = torch.rand(1, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: sum(ycc_tv(t)), (x,))


def test_gradients_flow_through_view_and_penalty():
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    prior = ImagePrior(view_scale=2.0, jitter=2, tv=1.0, chroma_tv=3.0)
    loss = prior.view(x).pow(2).mean() + sum(prior.penalty(x).values())
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_stages_and_step_split():
    p = ImagePrior(stages=(0.5, 1.0), coarse_steps=0.9)
    assert p.stage_sizes(384) == [192, 384]
    assert p.stage_sizes(96) == [96]  # a 48 px stage would be under MIN_STAGE
    assert MIN_STAGE == 64
    assert p.stage_steps(200, 2) == [180, 20] and sum(p.stage_steps(7, 2)) == 7


def test_the_final_stage_has_its_own_view_and_bad_fields_are_refused():
    from lecturekit.checks import ParameterError
    p = ImagePrior(view_scale=2.0, stages=(0.4, 1.0), final_view_scale=1.0, final_luminance=True)
    assert p.final().view_scale == 1.0 and p.final().final_luminance and p.view_scale == 2.0
    assert ImagePrior(view_scale=2.0).final().view_scale == 2.0  # None: the same view
    assert p.largest_view(p.stage_sizes(512)) == 512  # 205 px seen at 410, 512 px at 512
    assert p.largest_view([512]) == 1024  # a single stage is an ordinary one
    for bad in ({"strokes": -1.0}, {"final_view_scale": 0.0}, {"final_luminance": "yes"}, {"border": -1}):
        with pytest.raises(ParameterError):
            ImagePrior(**bad)


def test_the_border_mirrors_the_image_outwards_before_the_view():
    x = torch.rand(1, 3, 10, 14)
    v = ImagePrior(view_scale=2.0, border=3).view(x)
    assert v.shape == (1, 3, 32, 40)  # (10 + 2·3) × 2, (14 + 2·3) × 2
    assert torch.equal(ImagePrior(border=3).view(x)[..., 3:-3, 3:-3], x)
    v = ImagePrior(border=3).view(x)
    # a mirror that includes the edge, so that every one of the 3 rows nearest an edge appears twice and none
    # (as the edge row would in a mirror about it) once: view rows 0-2 are image rows 2, 1, 0
    assert torch.equal(v[..., 3:-3, :3], x[..., :3].flip(-1)) and torch.equal(v[..., :3, 3:-3], x[..., :3, :].flip(-2))
    assert torch.equal(v[..., 3:-3, -3:], x[..., -3:].flip(-1)) and torch.equal(v[..., :3, :3], x[..., :3, :3].flip(-2, -1))
    assert ImagePrior(border=50).view(x).shape == (1, 3, 28, 32)  # never more than the image can mirror (9 px)
    y = x.clone().requires_grad_(True)
    ImagePrior(border=3).view(y).sum().backward()
    assert torch.equal(y.grad, torch.ones_like(x))  # the mirror passes no gradient: no pixel counts twice
    assert DEFAULTS["texture"].border == 8 and DEFAULTS["style"].border == 0  # style paints on a canvas instead


def test_the_canvas_is_the_picture_mirrored_outwards():
    from lecturekit.checks import ParameterError
    x = torch.rand(1, 3, 10, 14)
    c = ImagePrior(canvas=3).extend(x)
    assert c.shape == (1, 3, 16, 20) and torch.equal(c[..., 3:-3, 3:-3], x)
    assert torch.equal(c[..., :3, 3:-3], x[..., :3, :].flip(-2)) and torch.equal(c[..., 3:-3, -3:], x[..., -3:].flip(-1))
    assert torch.equal(PLAIN.extend(x), x)
    assert DEFAULTS["style"].canvas == 8 and DEFAULTS["texture"].canvas == 0
    for bad in (-1, 17, 2.5):
        with pytest.raises(ParameterError, match="canvas"):
            ImagePrior(canvas=bad)


def test_resolve():
    assert resolve("default", "style") is DEFAULTS["style"]
    assert resolve(None, "style") is PLAIN and resolve("plain", "texture") is PLAIN
    assert resolve({"tv": 0.0}, "style").tv == 0.0
    assert resolve({"tv": 0.0}, "style").view_scale == DEFAULTS["style"].view_scale
    with pytest.raises(ValueError, match="unknown keys"):
        resolve({"speckle": 1}, "style")
    with pytest.raises(ValueError, match="prior must be"):
        resolve(3, "style")


def test_a_canvas_is_refused_where_no_lesson_paints_on_one():
    from lecturekit.checks import ParameterError
    assert resolve({"canvas": 4}, "texture").canvas == 4
    for lesson in ("inversion", "dream"):
        with pytest.raises(ParameterError, match="canvas"):
            resolve({"canvas": 4}, lesson)
        with pytest.raises(ParameterError, match="canvas"):
            resolve(ImagePrior(canvas=4), lesson)
