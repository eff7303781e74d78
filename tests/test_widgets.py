import threading

import pytest
import torch

import lecturekit as lk
from lecturekit.widgets import Explorer, blend_explorer, dream_view, style_view


def _slow_compute(calls, reached=None, release=None):
    """A compute function of `steps` steps; with events, it signals `reached` at step 3 and waits there
    for `release`, so a test can press Stop in the middle of a run without sleeping."""
    def compute(*, value, steps=20, callback=None, should_stop=None):
        calls.append(value)
        img = torch.full((1, 3, 8, 8), 0.0)
        for step in range(1, steps + 1):
            img = torch.full((1, 3, 8, 8), step / steps * value)
            if callback:
                callback(step, img, {})
            if step == 3 and reached is not None:
                reached.set()
                release.wait(30)
            if should_stop and should_stop():
                break
        return img
    return compute


def _explorer(calls, reached=None, release=None, **kw):
    import ipywidgets as w
    controls = {"value": w.FloatSlider(value=0.5, min=0, max=1, continuous_update=False),
                "steps": w.IntSlider(value=20, min=1, max=100, continuous_update=False)}
    return Explorer(_slow_compute(calls, reached, release), controls, "test", **kw)


def test_headless_default_render():
    calls = []
    ex = _explorer(calls)
    assert calls == [0.5] and ex.image.value[:4] == b"\x89PNG"
    bundle = ex._repr_mimebundle_()
    assert bundle["image/png"][:4] == b"\x89PNG" and "application/vnd.jupyter.widget-view+json" in bundle
    assert all(c.continuous_update is False for c in ex.controls.values())


def test_cache_means_no_recomputation():
    calls = []
    ex = _explorer(calls)
    ex.controls["value"].value = 0.8
    ex.run()
    ex.wait(10)
    ex.controls["value"].value = 0.5
    ex.run()           # cached: immediate, no thread
    ex.controls["value"].value = 0.8
    ex.run()
    assert calls == [0.5, 0.8] and ex.compute_count == 2
    assert ex.status.value == "from cache"


def test_stop_returns_a_partial_result_and_the_thread_leaves_no_exception():
    calls, reached, release = [], threading.Event(), threading.Event()
    ex = _explorer(calls)                     # the default picture, computed at construction
    ex.compute = _slow_compute(calls, reached, release)
    ex.controls["steps"].value = 100
    thread = ex.run()
    assert reached.wait(30)                   # the run is at step 3
    ex.stop()
    release.set()
    ex.wait(10)
    assert not thread.is_alive() and ex.error is None
    assert 0 < ex.progress.value < 100
    assert float(ex.result.mean()) < 0.5
    assert len(ex.cache) == 1  # the partial result is not cached
    assert "stopped" in ex.status.value


def test_errors_in_the_thread_are_kept_and_shown():
    import ipywidgets as w

    def compute(*, value, callback=None, should_stop=None):
        if value > 0.6:
            raise RuntimeError("boom")
        return torch.zeros(1, 3, 4, 4)
    ex = Explorer(compute, {"value": w.FloatSlider(value=0.5)})
    ex.controls["value"].value = 0.9
    ex.run()
    ex.wait(10)
    assert isinstance(ex.error, RuntimeError) and "boom" in ex.status.value
    assert not ex.run_button.disabled


def test_compute_functions_directly(lite0, small_image, tubingen, starry):
    out = dream_view(small_image, lite0, layer="stage2", steps=2, octaves=1)
    assert out.shape == small_image.shape
    stopped = style_view(tubingen, starry, lite0, steps=50, size=48, should_stop=lambda: True)
    assert stopped.shape[-1] == 48


def test_the_style_explorer_starts_at_the_default_content_layers(lite0, tubingen, starry, monkeypatch):
    """The default content is two layers ("stage1 + stage2"): the menu offers them as one choice, first, and
    the picture it makes is the default's; a single layer is still one choice."""
    import lecturekit.style
    from lecturekit import widgets
    seen, original = [], lecturekit.style.style_transfer

    def spy(*args, **options):
        seen.append(options.get("content_layers"))
        return original(*args, **options)
    monkeypatch.setattr(lecturekit.style, "style_transfer", spy)
    ex = widgets.style_explorer(tubingen[..., :48, :64], starry, lite0, steps=2, size=48, upload=False)
    menu = ex.controls["content_layer"]
    assert menu.value == "stage1 + stage2" and menu.options[0] == "stage1 + stage2" and "stage0" in menu.options
    ex.run_sync()
    menu.value = "stage0"
    ex.run_sync()
    assert seen == [["stage1", "stage2"], ["stage0"]]
    result = original(tubingen[..., :48, :64], starry, backbone=lite0, steps=2, size=48, progress=False)
    assert result.config["content_layers"] == ["stage1", "stage2"]


def test_blend_explorer_is_live():
    from lecturekit.fast import TransformerNet
    net = TransformerNet(norm="conditional", n_styles=3, width=16)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "gamma" in name:
                p[1] = 2.0  # style 1 differs from style 0
    net.styles = ["a", "b", "c"]
    ex = blend_explorer(net, torch.rand(1, 3, 256, 256), size=256)
    before, image = ex.compute_count, ex.image.value
    ex.controls["mix"].value = 0.8          # live: recomputed at once, no Run button (speed: see bench/)
    assert ex.compute_count == before + 1 and ex.image.value != image
    ex.controls["mix"].value = 0.5          # back to the default: from the cache
    assert ex.compute_count == before + 1 and ex.status.value == "from cache"


def test_every_explorer_renders_headless(lite0, tubingen, starry):
    from lecturekit import widgets
    small = tubingen[..., :48, :64]
    for ex in [widgets.dream_explorer(small, lite0, steps=1, octaves=1),
               widgets.inversion_explorer(small, lite0, steps=10),
               widgets.texture_explorer(small[..., :48, :48], lite0, steps=10, depth=2),
               widgets.style_explorer(small, starry, lite0, steps=10, size=48),
               widgets.style_blend_explorer(small, starry, tubingen, lite0, steps=10, size=48)]:
        bundle = ex._repr_mimebundle_()
        assert bundle["image/png"][:4] == b"\x89PNG" and ex.error is None
        assert ex.compute_count == 1


def _phone_jpeg(width=64, height=32) -> bytes:
    """A landscape JPEG whose EXIF says "rotate 90° on display", as a phone held upright writes it."""
    import io

    from PIL import Image
    img = Image.new("RGB", (width, height), (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, width // 2, height))          # left half blue in the stored pixels
    exif = img.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def test_uploaded_phone_photo_is_upright_and_used():
    ex = lk.widgets.fast_style_explorer(torch.rand(1, 3, 40, 60), size=48)
    assert ex.upload in ex.widget.children
    first = ex.compute_count
    value = ({"name": "phone.jpg", "type": "image/jpeg", "size": 0, "content": memoryview(_phone_jpeg())},)
    photo = ex.use_upload(value)
    assert photo.shape[-2] > photo.shape[-1]                        # upright: taller than wide
    assert ex.fixed["image"] is photo and ex.compute_count == first + 1
    assert ex.result.shape[-2:] == photo.shape[-2:] and "phone.jpg" in ex.status.value


def test_upload_of_a_non_image_changes_nothing():
    ex = lk.widgets.fast_style_explorer(torch.rand(1, 3, 40, 60), size=48)
    before = ex.fixed["image"]
    assert ex.use_upload(({"name": "notes.txt", "content": memoryview(b"hello")},)) is None
    assert ex.fixed["image"] is before and "could not use notes.txt" in ex.status.value


def test_dream_explorer_has_the_upload_box(lite0_random):
    ex = lk.widgets.dream_explorer(torch.rand(1, 3, 32, 32), lite0_random, steps=1, octaves=1)
    assert ex.upload is ex.widget.children[1] and ex.upload_key == "image"
