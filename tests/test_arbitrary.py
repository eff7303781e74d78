"""Arbitrary style in one pass (lecturekit.fast.arbitrary): AdaIN, the style vector, the strength mix,
the sizes, the input checks and the explorer. The match with Magenta's originals is in test_magenta.py."""
import io

import pytest
import torch

import lecturekit as lk
from lecturekit.checks import ParameterError
from lecturekit.fast import arbitrary
from lecturekit.fast.arbitrary import adain, style_vector, stylize_arbitrary


@pytest.fixture(scope="module")
def photo():
    return lk.load_image("tubingen", max_size=128)


def test_adain_gives_the_style_statistics_and_keeps_the_layout():
    torch.manual_seed(0)
    x, y = torch.randn(2, 8, 12, 16), torch.randn(2, 8, 20, 10) * 3 + 1
    out = adain(x, y)
    mu_y, sigma_y = arbitrary.channel_stats(y)
    mu_o, sigma_o = arbitrary.channel_stats(out)
    assert out.shape == x.shape
    assert torch.allclose(mu_o, mu_y, atol=1e-4) and torch.allclose(sigma_o, sigma_y, atol=1e-3)
    # per channel, AdaIN is an increasing affine map of the content: the layout (ordering) is kept
    assert torch.equal(out[0, 0].flatten().argsort(), x[0, 0].flatten().argsort())


def test_style_vector_sees_the_centre_square():
    painting = lk.load_image("starry_night", max_size=300)
    s = style_vector(painting)
    assert s.shape == (1, arbitrary.STYLE_DIM) and torch.isfinite(s).all()
    h, w = painting.shape[-2:]
    side = min(h, w)
    centre = painting[..., (h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    assert torch.allclose(style_vector(centre), s, atol=1e-4)
    assert (style_vector("the_scream") - s).norm() > 1.0  # two paintings, two styles


def test_strength_mixes_the_photo_and_the_painting(photo):
    own, painted = style_vector(photo), style_vector("starry_night")
    zero = stylize_arbitrary(photo, "starry_night", strength=0.0)
    assert torch.allclose(zero, stylize_arbitrary(photo, own), atol=1e-5)
    half = stylize_arbitrary(photo, "starry_night", strength=0.5)
    assert torch.allclose(half, stylize_arbitrary(photo, 0.5 * painted + 0.5 * own), atol=1e-5)
    full = stylize_arbitrary(photo, painted)
    assert (full - zero).abs().mean() > 0.03  # the painting changes the picture


def test_sizes(photo):
    odd = photo[..., :97, :123]
    assert stylize_arbitrary(odd, "the_scream").shape == odd.shape  # padded to a multiple of 4, cropped back
    big = lk.load_image("tubingen", max_size=512)
    s = style_vector("the_scream")
    out = stylize_arbitrary(big, s, size=400)
    assert max(out.shape[-2:]) == 400
    assert out.min() >= 0 and out.max() <= 1
    full = stylize_arbitrary(big, s, size=400, work_size=None)  # painted at 400 px, not 384 then enlarged
    assert full.shape == out.shape and not torch.allclose(full, out)


@pytest.mark.parametrize("kwargs, words", [
    ({"strength": 1.5}, "strength"), ({"strength": -0.1}, "strength"), ({"size": 3}, "size"),
    ({"work_size": 0}, "work_size")])
def test_bad_parameters_are_one_clear_error(photo, kwargs, words):
    with pytest.raises(ParameterError, match=words):
        stylize_arbitrary(photo, "starry_night", **kwargs)


def test_a_painting_that_is_not_an_image_is_refused(photo, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt"):
        stylize_arbitrary(photo, str(bad))


def test_explorer_updates_and_takes_an_uploaded_painting():
    from lecturekit.widgets import _select_uploaded
    ex = lk.widgets.arbitrary_explorer(lk.load_image("tubingen", max_size=256), size=256)
    first = ex.result
    ex.controls["strength"].value = 0.25
    assert ex.error is None and not torch.equal(ex.result, first)
    assert ex.upload.description == "your painting" and ex.upload_key == "uploaded"
    buf = io.BytesIO()
    lk.to_pil(lk.load_image("udnie", max_size=200)).save(buf, format="JPEG")
    ex.use_upload(({"name": "mine.jpg", "content": memoryview(buf.getvalue())},))
    _select_uploaded(ex)
    assert ex.controls["painting"].value == "your painting" and ex.error is None
    expected = stylize_arbitrary(ex.fixed["photo"], 0.25 * style_vector(ex.fixed["uploaded"])
                                 + 0.75 * ex.fixed["own"])
    assert torch.allclose(ex.result, expected, atol=1e-5)
