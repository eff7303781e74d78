import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import lecturekit as lk
from lecturekit.images import ImageLoadError, load_image, read_metadata, save_image


def _assert_image(x, h, w):
    assert x.shape == (1, 3, h, w) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_sources_agree(tmp_path):
    arr = (np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)
    path = tmp_path / "a.png"
    Image.fromarray(arr).save(path)
    from_path = load_image(path)
    _assert_image(from_path, 20, 30)
    assert torch.equal(from_path, load_image(str(path)))
    assert torch.equal(from_path, load_image(Image.fromarray(arr)))
    assert torch.equal(from_path, load_image(arr))
    assert torch.equal(from_path, load_image(from_path[0]))
    assert torch.allclose(from_path, torch.from_numpy(arr).permute(2, 0, 1)[None] / 255.0)


def test_exif_orientation(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    img.save(tmp_path / "rot.jpg", exif=exif)
    _assert_image(load_image(tmp_path / "rot.jpg"), 40, 20)


def test_grayscale_palette_cmyk_rgba(tmp_path):
    Image.new("L", (8, 6), 128).save(tmp_path / "g.png")
    g = load_image(tmp_path / "g.png")
    _assert_image(g, 6, 8)
    assert torch.allclose(g, torch.full_like(g, 128 / 255))
    Image.new("RGB", (8, 6), (10, 200, 30)).convert("P").save(tmp_path / "p.png")
    _assert_image(load_image(tmp_path / "p.png"), 6, 8)
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # red in CMYK
    c = load_image(tmp_path / "c.jpg")
    _assert_image(c, 6, 8)
    assert c[0, 0].mean() > 0.8 and c[0, 1].mean() < 0.2
    rgba = Image.new("RGBA", (8, 6), (0, 0, 0, 0))  # fully transparent -> white
    rgba.save(tmp_path / "t.png")
    assert torch.allclose(load_image(tmp_path / "t.png"), torch.ones(1, 3, 6, 8))


def test_16bit_png(tmp_path):
    arr = np.full((5, 7), 65535 // 2, dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "16.png")
    x = load_image(tmp_path / "16.png")
    _assert_image(x, 5, 7)
    assert abs(float(x.mean()) - 0.5) < 0.01


def test_missing_file_names_it(tmp_path):
    with pytest.raises(ImageLoadError, match="nope.jpg"):
        load_image(tmp_path / "nope.jpg")


def test_not_an_image_names_it(tmp_path):
    (tmp_path / "notes.jpg").write_text("hello")
    with pytest.raises(ImageLoadError, match="notes.jpg.*not an image"):
        load_image(tmp_path / "notes.jpg")


def test_truncated_file_names_it(tmp_path):
    Image.fromarray((np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8)).save(tmp_path / "f.jpg")
    data = (tmp_path / "f.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="cut.jpg.*truncated"):
        load_image(tmp_path / "cut.jpg")


def test_max_size_and_cap(monkeypatch):
    x = torch.rand(1, 3, 100, 50)
    assert load_image(x, max_size=40).shape == (1, 3, 40, 20)
    monkeypatch.setattr(lk.images, "MAX_SIDE", 64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = load_image(x)
    assert y.shape == (1, 3, 64, 32)
    assert any("downscaling" in str(w.message) for w in caught)


def test_bad_types():
    with pytest.raises(TypeError, match="path, URL"):
        load_image(42)
    with pytest.raises(ValueError, match="shape"):
        load_image(np.zeros((4, 4, 5)))


def test_save_roundtrip_with_metadata(tmp_path):
    x = torch.rand(1, 3, 10, 12)
    path = save_image(x, tmp_path / "out.png", metadata={"seed": 3, "style_weight": 1000.0})
    assert read_metadata(path) == {"seed": 3, "style_weight": 1000.0}
    assert (load_image(path) - x).abs().max() <= 1 / 255 + 1e-6
    save_image(x, tmp_path / "out.jpg", metadata={"seed": 4})
    assert read_metadata(tmp_path / "out.jpg") == {"seed": 4}


def odd_over_even(x: torch.Tensor) -> float:
    """Differences across odd columns over those across even ones (1: no 2 px grid of pixel pairs)."""
    d = (x[..., 1:] - x[..., :-1]).abs().mean((0, 1, 2))
    return float(d[1::2].mean() / d[0::2].mean())


def test_enlarging_a_coarse_picture_leaves_no_grid_of_pixel_pairs():
    from lecturekit.images import enlarge, gaussian_blur, resize

    coarse = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    plain, enlarged = resize(coarse, (96, 128)), enlarge(coarse, (96, 128))
    assert enlarged.shape == (1, 3, 96, 128) and 0 <= enlarged.min() and enlarged.max() <= 1
    assert odd_over_even(plain) > 1.8 and odd_over_even(enlarged) < 1.2
    assert torch.allclose(enlarge(torch.full((1, 3, 8, 8), 0.3), (16, 16)), torch.full((1, 3, 16, 16), 0.3))
    assert torch.equal(enlarge(coarse, (48, 64)), coarse)  # no enlargement, no blur
    blurred = gaussian_blur(coarse, 1.0)
    assert torch.allclose(blurred.mean(), coarse.mean(), atol=0.01) and blurred.std() < 0.5 * coarse.std()


def test_enlarging_the_colours_only_keeps_the_luminance_for_the_last_stage():
    from lecturekit.color import rgb_to_ycc
    from lecturekit.images import enlarge, resize
    coarse = 0.25 + 0.5 * torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(1))  # nothing clipped
    plain, enlarged = rgb_to_ycc(resize(coarse, (96, 128))), rgb_to_ycc(enlarge(coarse, (96, 128), chroma_only=True))
    assert torch.allclose(enlarged[:, :1], plain[:, :1], atol=1e-5)  # the luminance: bilinear, as sharp
    assert odd_over_even(plain[:, 1:]) > 1.8 and odd_over_even(enlarged[:, 1:]) < 1.2  # the colours: no grid
    assert enlarged[:, 1:].std() < 0.8 * plain[:, 1:].std()
    assert torch.equal(enlarge(coarse, (48, 64), chroma_only=True), coarse)
