import math

import pytest
import torch

from lecturekit.optimize import OPTIMIZERS, RunControls, optimize_image
from lecturekit.param import Fourier


def quadratic(target):
    return lambda x: {"distance": (x - target).pow(2).sum(), "distance:detail": (x - target).abs().mean()}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_lowers_the_loss(name):
    target = torch.full((1, 3, 8, 8), 0.7)
    init = torch.full((1, 3, 8, 8), 0.2)
    r = optimize_image(quadratic(target), init, optimizer=name, steps=20, progress=False)
    assert r.history["total"][-1] < r.history["total"][0]
    assert r.steps == 20 and len(r.times) == 20
    assert "distance:detail" in r.history and len(r.history["distance"]) == 20


def test_detail_terms_are_not_summed():
    x0 = torch.zeros(1, 3, 2, 2)
    r = optimize_image(lambda x: {"a": x.sum() + 1.0, "a:shadow": x.sum() + 100.0}, x0, optimizer="sgd",
                       steps=1, progress=False, clamp=None)
    assert r.history["total"][0] == pytest.approx(1.0)


def test_pixels_stay_in_range_and_snapshots():
    r = optimize_image(lambda x: {"push": -x.sum()}, torch.full((1, 3, 4, 4), 0.5), optimizer="sgd", lr=1.0,
                       steps=5, snapshots=(0, 2, 5), progress=False)
    assert float(r.image.max()) <= 1.0 and float(r.image.min()) >= 0.0
    assert sorted(r.snapshots) == [0, 2, 5]
    assert torch.equal(r.snapshots[0], torch.full((1, 3, 4, 4), 0.5))


def test_maximize():
    r = optimize_image(lambda x: {"brightness": x.mean()}, torch.full((1, 3, 4, 4), 0.5), optimizer="adam",
                       steps=5, maximize=True, progress=False)
    assert r.history["total"][-1] > r.history["total"][0]


def test_nan_stops_and_keeps_the_last_good_image():
    calls = {"n": 0}

    def loss(x):
        calls["n"] += 1
        value = (x - 1).pow(2).sum()
        return {"l": value * (math.nan if calls["n"] == 4 else 1.0)}
    with pytest.warns(RuntimeWarning, match="NaN"):
        r = optimize_image(loss, torch.zeros(1, 3, 4, 4), optimizer="sgd", lr=0.1, steps=10, progress=False)
    assert r.stopped == "nan" and r.steps == 3 and "Lower the learning rate" in r.message
    assert torch.isfinite(r.image).all() and r.image.mean() > 0


def test_keyboard_interrupt_returns_the_best_so_far():
    calls = {"n": 0}

    def loss(x):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return {"l": (x - 1).pow(2).sum()}
    with pytest.warns(RuntimeWarning, match="Interrupted at step 5 of 50"):
        r = optimize_image(loss, torch.zeros(1, 3, 4, 4), optimizer="sgd", lr=0.05, steps=50, progress=False)
    assert r.stopped == "interrupted" and r.steps == 5
    assert r.image.mean() > 0


def test_should_stop_keeps_the_partial_image():
    r = optimize_image(lambda x: {"l": (x - 1).pow(2).sum()}, torch.zeros(1, 3, 4, 4), optimizer="adam",
                       steps=100, progress=False, should_stop=lambda: True)
    assert r.stopped == "stop" and r.steps == 1 and r.image.mean() > 0


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="lbfgs"):
        optimize_image(lambda x: {"l": x.sum()}, torch.zeros(1, 3, 2, 2), optimizer="newton", progress=False)


def test_callback_sees_every_step():
    seen = []
    optimize_image(lambda x: {"l": x.sum()}, torch.ones(1, 3, 2, 2), optimizer="sgd", steps=4,
                   callback=lambda s, img, terms: seen.append(s), progress=False)
    assert seen == [1, 2, 3, 4]


def test_non_contiguous_start_image_works_with_lbfgs():
    init = torch.rand(1, 8, 8, 3).permute(0, 3, 1, 2)  # a channels-last view, as numpy images give
    assert not init.is_contiguous()
    r = optimize_image(lambda x: {"l": (x - 0.5).pow(2).sum()}, init, optimizer="lbfgs", steps=3, progress=False)
    assert r.history["total"][-1] < r.history["total"][0]


def test_moving_average():
    from lecturekit.viz import moving_average
    assert moving_average([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]


def test_run_controls_as_keywords_or_as_one_object_not_both():
    seen = []
    controls = RunControls(progress=False, callback=lambda s, img, terms: seen.append(s), snapshots=(2,))
    r = optimize_image(lambda x: {"l": x.sum()}, torch.ones(1, 3, 2, 2), optimizer="sgd", steps=3, controls=controls)
    assert seen == [1, 2, 3] and sorted(r.snapshots) == [2]
    with pytest.raises(TypeError, match="not both"):
        optimize_image(lambda x: {"l": x.sum()}, torch.ones(1, 3, 2, 2), controls=controls, progress=False)


def test_fourier_parameterization_starts_at_the_image_and_reaches_a_target():
    torch.manual_seed(0)
    target = torch.rand(1, 3, 12, 15) * 0.8 + 0.1
    init = torch.full_like(target, 0.5)
    param = Fourier(init)
    assert torch.allclose(param.image(), init, atol=1e-5)  # the inverse of the parameterization, exactly
    loss = lambda x: {"mse": (x - target).pow(2).mean()}  # noqa: E731
    r = optimize_image(loss, init, optimizer="adam", lr=0.05, steps=150, parameterization="fourier", progress=False)
    assert r.history["mse"][-1] < 0.02 * r.history["mse"][0]
    assert r.image.shape == target.shape and 0 < float(r.image.min()) and float(r.image.max()) < 1
    pixels = optimize_image(loss, init, optimizer="adam", lr=0.05, steps=3, progress=False)
    default = optimize_image(loss, init, optimizer="adam", lr=0.05, steps=3, parameterization="pixels", progress=False)
    assert torch.equal(pixels.image, default.image)


def test_luminance_parameterization_changes_light_and_dark_only():
    from lecturekit.color import rgb_to_ycc
    torch.manual_seed(0)
    init = torch.rand(1, 3, 12, 15) * 0.6 + 0.2
    target = torch.rand(1, 3, 12, 15)
    loss = lambda x: {"mse": (x - target).pow(2).mean()}  # noqa: E731
    r = optimize_image(loss, init, optimizer="adam", lr=0.02, steps=20, parameterization="luminance", progress=False)
    assert r.history["mse"][-1] < r.history["mse"][0]
    ours, start = rgb_to_ycc(r.image), rgb_to_ycc(init)
    assert not torch.allclose(ours[:, :1], start[:, :1], atol=1e-3)  # the luminance moved
    inside = ((r.image > 1e-4) & (r.image < 1 - 1e-4)).all(1, keepdim=True).expand(-1, 2, -1, -1)
    assert torch.allclose(ours[:, 1:][inside], start[:, 1:][inside], atol=1e-5)  # the chroma did not
    assert 0 <= float(r.image.min()) and float(r.image.max()) <= 1


def test_a_margin_paints_a_canvas_and_keeps_the_picture_inside():
    from lecturekit.checks import ParameterError
    target = torch.rand(1, 3, 12, 14)
    seen, shown = [], []

    def loss(x):
        seen.append(tuple(x.shape))
        return {"l2": (x - target).pow(2).sum()}
    r = optimize_image(loss, torch.zeros(1, 3, 12, 14), optimizer="adam", lr=0.05, steps=60, margin=3,
                       snapshots=(0, 60), callback=lambda step, image, terms: shown.append(tuple(image.shape)),
                       progress=False)
    assert set(seen) == {(1, 3, 12, 14)}  # the loss sees the whole canvas
    assert set(shown) == {(1, 3, 6, 8)} and r.image.shape == r.snapshots[60].shape == (1, 3, 6, 8)
    assert torch.equal(r.snapshots[0], torch.zeros(1, 3, 6, 8))
    assert (r.image - target[..., 3:-3, 3:-3]).abs().max() < 0.1  # the picture inside the painted canvas
    with pytest.warns(RuntimeWarning, match="Interrupted"):  # interrupted: the best picture, inside too
        def stop(x):
            raise KeyboardInterrupt
        assert optimize_image(stop, torch.zeros(1, 3, 12, 14), margin=3, progress=False).image.shape == (1, 3, 6, 8)
    with pytest.raises(ParameterError, match="margin"):
        optimize_image(loss, torch.zeros(1, 3, 12, 14), margin=6, progress=False)


def test_an_initial_image_names_the_image_it_lacks():
    from lecturekit.optimize import initial_image
    like, photo, painting = torch.zeros(1, 3, 8, 8), torch.rand(1, 3, 16, 16), torch.rand(1, 3, 12, 12)
    with pytest.raises(ValueError, match="needs the style image"):
        initial_image(like, "matched", content=photo)
    with pytest.raises(ValueError, match="needs the content image"):
        initial_image(like, "content", style=painting)
    assert initial_image(like, "content", content=photo).shape == like.shape
    matched = initial_image(like, "matched", content=photo, style=painting)
    assert matched.shape == like.shape and set(matched.flatten().tolist()) <= set(painting.flatten().tolist())
