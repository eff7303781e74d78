import pytest
import torch

import lecturekit as lk
from lecturekit.configs import DreamConfig
from lecturekit.dream import dream_objective, octave_sizes, octave_start
from lecturekit.prior import jitter


def test_the_one_jitter_is_a_roll_by_dx_then_dy_drawn_from_the_generator():
    x = torch.rand(1, 3, 10, 13)
    moved = jitter(x, 4, torch.Generator().manual_seed(5))
    dx, dy = torch.randint(-4, 5, (2,), generator=torch.Generator().manual_seed(5)).tolist()
    assert torch.equal(moved, torch.roll(x, shifts=(dy, dx), dims=(-2, -1)))
    assert torch.equal(torch.roll(moved, shifts=(-dy, -dx), dims=(-2, -1)), x)  # unjitter
    assert jitter(x, 0) is x


def test_octave_start_carries_the_detail_up_the_antialiased_pyramid():
    base = torch.rand(1, 3, 40, 56)
    coarse = lk.resize(base, (20, 28))
    assert torch.equal(octave_start(base, (20, 28), None), coarse)
    dreamt = (coarse + 0.1).clamp(0, 1)
    start = octave_start(base, (40, 56), dreamt, clip=False)
    expected = base + lk.resize(dreamt - coarse, (40, 56), clamp=False)
    assert torch.allclose(start, expected)


def test_dream_config_is_frozen_validated_and_the_cli_defaults():
    import dataclasses

    from lecturekit.__main__ import build_parser, config_values
    args = build_parser().parse_args(["dream", "a.jpg", "-o", "x.png"])
    assert config_values(args, DreamConfig) == dataclasses.asdict(DreamConfig())
    assert DreamConfig(layers="stage3").layers == ("stage3",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        DreamConfig().steps = 3
    with pytest.raises(ValueError, match="octave_scale"):
        DreamConfig(octave_scale=0.5)


def test_octave_pyramid_shapes():
    assert octave_sizes((100, 140), 4, 1.4) == [(100, 140), (71, 100), (51, 71), (36, 51)]


def test_objective_increases_and_values_stay_in_range(lite0, tubingen):
    img = tubingen[..., :64, :64]
    view = lk.prior.resolve("default", "dream").view  # the objective as the dream sees the image
    before = float(dream_objective(view(img), lite0, "stage3"))
    out = lk.deepdream(img, lite0, layers="stage3", steps=5, octaves=1, jitter=8, seed=0, progress=False).image
    after = float(dream_objective(view(out), lite0, "stage3"))
    assert after > 1.2 * before
    plain = lk.deepdream(img, lite0, layers="stage3", steps=5, octaves=1, jitter=8, seed=0, prior="plain",
                         progress=False).image
    assert float(dream_objective(plain, lite0, "stage3")) > 1.2 * float(dream_objective(img, lite0, "stage3"))
    assert out.shape == img.shape and out.min() >= 0 and out.max() <= 1


def test_octaves_keep_the_size(lite0, small_image):
    out = lk.deepdream(small_image, lite0, layers={"stage2": 1.0, "stage3": 0.5}, steps=2, octaves=3, seed=1,
                       progress=False).image
    assert out.shape == small_image.shape


def test_seed_makes_it_deterministic(lite0, small_image):
    a = lk.deepdream(small_image, lite0, steps=2, octaves=2, seed=3, progress=False).image
    b = lk.deepdream(small_image, lite0, steps=2, octaves=2, seed=3, progress=False).image
    assert torch.equal(a, b)


def test_channel_objective_rises(lite0, small_image):
    out = lk.deepdream(small_image, lite0, layers="stage2", objective="channel", channel=5, steps=4, octaves=1,
                       seed=0, progress=False).image
    before = lite0.features(small_image, "stage2")["stage2"][:, 5].mean()
    after = lite0.features(out, "stage2")["stage2"][:, 5].mean()
    assert after > before


def test_guided_objective_rises_toward_the_guide(lite0, tubingen, starry):
    img, guide = tubingen[..., :64, :64], starry[..., :64, :64]
    layer = "stage2"
    g = lite0.features(guide, layer)
    before = float(dream_objective(img, lite0, layer, "guided", guides=g))
    out = lk.deepdream(img, lite0, layers=layer, objective="guided", guide=guide, steps=5, octaves=1, seed=0,
                       progress=False).image
    assert float(dream_objective(out, lite0, layer, "guided", guides=g)) > before


def test_tiled_gradient_equals_untiled(lite0):
    torch.manual_seed(0)
    img = torch.rand(1, 3, 128, 160)

    def grad(tile):
        x = img.clone().requires_grad_(True)
        dream_objective(x, lite0, ["stage2", "stage3"], tile_size=tile, halo=64).backward()
        return x.grad
    untiled, tiled = grad(None), grad(64)
    rel = (tiled - untiled).norm() / untiled.norm()
    assert rel < 0.02, rel
    assert torch.allclose(dream_objective(img, lite0, "stage3", tile_size=64, halo=64),
                          dream_objective(img, lite0, "stage3"), rtol=0.02)


def test_bad_arguments(lite0, small_image):
    import pytest
    with pytest.raises(ValueError, match="channel"):
        lk.deepdream(small_image, lite0, objective="channel").image
    with pytest.raises(ValueError, match="guide"):
        lk.deepdream(small_image, lite0, objective="guided").image
    with pytest.raises(KeyError, match="stage3"):
        lk.deepdream(small_image, lite0, layers="inception4c").image


def test_zoom_dream_frames_and_gif(lite0, small_image, tmp_path):
    from PIL import Image
    from lecturekit.dream import zoom_dream, zoom_into
    assert zoom_into(small_image, 1.0).shape == small_image.shape
    frames = zoom_dream(small_image, lite0, frames=3, zoom=1.1, steps=1, octaves=1, progress=False)
    assert len(frames) == 3 and all(f.shape == small_image.shape for f in frames)
    path = lk.images.save_gif(frames, tmp_path / "zoom.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 3
