"""Nothing half-written, nothing found too late: atomic saves, outputs checked before the work, arrays
scaled rather than clipped, and a command line that reports every problem at once."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from PIL import Image

import lecturekit as lk
from lecturekit.__main__ import main


# --------------------------------------------------------------------------- atomic saves
def test_a_save_killed_half_way_leaves_the_old_file_or_none(tmp_path):
    target = tmp_path / "big.png"
    lk.save_image(torch.zeros(1, 3, 8, 8), target)                  # the old picture
    code = textwrap.dedent(f"""
        import sys, torch, lecturekit as lk
        x = torch.rand(1, 3, 4096, 4096, generator=torch.Generator().manual_seed(0))  # noise: a slow PNG
        print("saving", flush=True)
        lk.save_image(x, {str(target)!r})
        print("saved", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "saving"
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size for p in tmp_path.glob(".big.*.part.png")):  # the new PNG is being written
        assert proc.poll() is None and time.monotonic() < deadline, "the save finished or never started writing"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)                                  # mid-write, as a crash would
    proc.wait()
    with Image.open(target) as img:                                   # never a truncated PNG
        img.load()
        assert img.size in ((8, 8), (4096, 4096))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "big.png"]
    assert all(".part" in name for name in leftovers)                 # at most the dead process's temp file


def test_save_replaces_the_file_whole_and_cleans_up(tmp_path):
    target = tmp_path / "x.jpg"
    lk.save_image(torch.rand(1, 3, 16, 16), target, metadata={"steps": 3})
    lk.save_image(torch.rand(1, 3, 16, 16), target, metadata={"steps": 4})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg", "x.jpg.json"]
    assert lk.read_metadata(target) == {"steps": 4}


def test_a_nan_image_is_refused_not_saved_black(tmp_path):
    x = torch.rand(1, 3, 16, 16)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        lk.save_image(x, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(ValueError, match="NaN"):
        lk.load_image(x)


# --------------------------------------------------------------------------- arrays and sizes
def test_integer_arrays_in_0_255_are_scaled_not_clipped():
    arr = np.full((20, 20, 3), 128, dtype=np.int64)
    assert lk.load_image(arr).mean().item() == pytest.approx(128 / 255)
    assert lk.load_image(torch.full((3, 20, 20), 255, dtype=torch.uint8)).min().item() == 1.0


def test_a_float_array_outside_0_1_is_an_error_that_says_so():
    with pytest.raises(ValueError, match=r"spans \[0, 200\].*0\.\.255"):
        lk.load_image(np.linspace(0, 200, 20 * 20 * 3, dtype=np.float32).reshape(20, 20, 3))
    with pytest.raises(ValueError, match="NaN"):
        lk.load_image(np.full((20, 20), np.nan))


@pytest.mark.parametrize("bad", [0, -5, 2.5, "64"])
def test_max_size_is_checked(bad):
    with pytest.raises(ValueError, match="max_size must be a whole number"):
        lk.load_image(torch.rand(1, 3, 20, 20), max_size=bad)


# --------------------------------------------------------------------------- the command line
def test_cli_reports_every_problem_on_its_own_line(tmp_path, capsys):
    rc = main(["style", "tubingen", "starry_night", "-o", str(tmp_path / "x.png"), "--steps", "0", "--size", "-3",
               "--style-weight", "-1"])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert rc == 2 and len(errors) == 3
    assert any("--steps" in e for e in errors) and any("--size" in e for e in errors)


def test_cli_usage_errors_do_not_load_torch():
    code = ("import sys; from lecturekit.__main__ import main\n"
            "rc = main(['style', 'a.jpg', 'b.jpg', '-o', 'x.png', '--steps', '0'])\n"
            "print(rc, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["2", "False"], out.stderr


def test_cli_refuses_to_overwrite_its_input(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    lk.save_image(torch.rand(1, 3, 32, 32), photo)
    before = photo.read_bytes()
    assert main(["dream", str(photo), "-o", str(photo)]) == 2
    assert "would overwrite it" in capsys.readouterr().err and photo.read_bytes() == before


def test_cli_checks_the_sidecar_before_the_work(tmp_path, capsys):
    (tmp_path / "out.jpg.json").mkdir()                              # where the settings would go
    assert main(["dream", "tubingen", "-o", str(tmp_path / "out.jpg"), "--steps", "1", "--octaves", "1"]) == 2
    assert "out.jpg.json: it is a folder" in capsys.readouterr().err
    assert not (tmp_path / "out.jpg").exists()




# --------------------------------------------------------------------------- parameters checked up front
def _no_forward(monkeypatch, backbone):
    """Make any forward pass of `backbone` fail, so a test shows an error came before the work."""
    monkeypatch.setattr(backbone, "features", lambda *a, **k: (_ for _ in ()).throw(AssertionError("work began")))


@pytest.mark.parametrize("options, message", [
    (dict(optimizer="bogus"), "optimizer must be one of"),
    (dict(init="bogus"), "init must be one of"),
    (dict(snapshots=(500, -3), steps=10), "snapshots must be whole steps from 0 to 10"),
    (dict(prior={"tv": -1}), "prior tv must be a finite number >= 0"),
    (dict(prior={"view_scale": 0}), "prior view_scale must be"),
    (dict(style_weight=1e39), "overflow the float32 loss"),
])
def test_style_transfer_refuses_bad_options_before_any_work(options, message, lite0_random, small_image,
                                                             monkeypatch):
    _no_forward(monkeypatch, lite0_random)
    with pytest.raises(ValueError, match=message):
        lk.style_transfer(small_image, small_image, backbone=lite0_random, progress=False, **options)


@pytest.mark.parametrize("options, message", [
    (dict(layers=[]), "layers must be a layer name or a non-empty list"),
    (dict(objective="channel", channel=99999), "channel must be an integer >= 0 and <= 39"),
    (dict(tile_size=0), "tile_size must be an integer >= 64"),
    (dict(prior={"jitter": -2}), "prior jitter"),
])
def test_deepdream_refuses_bad_options(options, message, lite0_random, small_image):
    kw = dict(layers="stage2", **options) if "layers" not in options else options
    with pytest.raises(ValueError, match=message):
        lk.deepdream(small_image, lite0_random, steps=1, octaves=1, progress=False, **kw)


def test_one_step_runs_one_step(lite0_random, small_image):
    r = lk.style_transfer(small_image, small_image, backbone=lite0_random, steps=1, size=48, progress=False)
    assert r.steps == 1


def test_stopped_in_the_coarse_stage_gives_the_size_asked_for(lite0_random, small_image):
    calls = []
    r = lk.style_transfer(small_image, small_image, backbone=lite0_random, steps=20, size=160, progress=False,
                          callback=lambda *a: calls.append(1), should_stop=lambda: len(calls) >= 2)
    assert r.stopped and r.steps == 2 and max(r.image.shape[-2:]) == 160
    assert "enlarged to 160 px" in r.message


def test_a_single_layer_name_is_one_layer(lite0_random, small_image):
    r = lk.synthesize_texture(small_image, lite0_random, layers="stage1", steps=1, size=32, progress=False)
    assert r.image.shape[-2:] == (32, 32)


def test_default_deepdream_is_not_tiled_at_512_px(lite0_random, monkeypatch):
    import lecturekit.dream
    tiles = []
    monkeypatch.setattr(lecturekit.dream, "checkpoint", lambda fn, x, **k: tiles.append(1) or fn(x))
    lk.deepdream(torch.rand(1, 3, 384, 512), lite0_random, steps=1, octaves=1, progress=False)
    assert tiles == []


def test_train_fast_checks_width_and_checkpoint_before_training(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    assert main(["train-fast", "--style", "starry_night", "--out", str(tmp_path / "n.pt"), "--width", "0"]) == 2
    assert "width must be an integer >= 1" in capsys.readouterr().err
    assert main(["train-fast", "--style", "starry_night", "--out", str(tmp_path / "n.pt"),
                 "--checkpoint", str(tmp_path / "a_file" / "c.pt")]) == 2
    assert "a_file is a file, not a folder" in capsys.readouterr().err


def test_two_runs_saving_one_png_leave_a_whole_picture(tmp_path):
    target = tmp_path / "same.png"
    code = ("import sys, torch, lecturekit as lk\n"
            "g = torch.Generator().manual_seed(int(sys.argv[1]))\n"
            f"lk.save_image(torch.rand(1, 3, 1024, 1024, generator=g), {str(target)!r})\n")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(seed)]) for seed in (1, 2)]
    assert [r.wait(timeout=300) for r in runs] == [0, 0]
    with Image.open(target) as img:
        img.load()
        assert img.size == (1024, 1024)


def test_a_read_only_sidecar_is_refused_before_the_work(tmp_path, monkeypatch, capsys):
    import lecturekit.__main__ as cli
    sidecar = tmp_path / "out.jpg.json"
    sidecar.write_text("{}")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(sidecar) else real_access(p, mode))
    assert cli.main(["dream", "tubingen", "-o", str(tmp_path / "out.jpg")]) == 2
    assert "no permission to overwrite it" in capsys.readouterr().err
    assert not (tmp_path / "out.jpg").exists()


def test_dream_cli_stores_the_real_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LECTUREKIT_TEST_BACKBONE", "squeezenet1_1")  # random weights: quick
    out = tmp_path / "d.png"
    assert main(["dream", "tubingen", "-o", str(out), "--size", "48", "--steps", "2", "--octaves", "2"]) == 0
    meta = lk.read_metadata(out)
    assert meta["layer"] == lk.load_backbone().defaults.dream_layers
    assert meta["steps"] == 4 and meta["steps_per_octave"] == 2 and meta["stopped"] is None


# --------------------------------------------------------------------------- one set of defaults
def test_cli_style_defaults_are_the_api_defaults():
    import dataclasses

    from lecturekit.__main__ import build_parser, config_values
    args = build_parser().parse_args(["style", "a.jpg", "b.jpg", "-o", "x.png"])
    assert config_values(args, lk.StyleConfig) == dataclasses.asdict(lk.StyleConfig())


def test_cli_and_api_make_the_same_picture(tmp_path, monkeypatch):
    monkeypatch.setenv("LECTUREKIT_TEST_BACKBONE", "squeezenet1_1")
    out = tmp_path / "cli.png"
    assert main(["style", "tubingen", "starry_night", "-o", str(out), "--size", "48", "--steps", "3"]) == 0
    api = lk.style_transfer("tubingen", "starry_night", size=48, steps=3, progress=False)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), np.asarray(lk.to_pil(api.image)))
    assert lk.read_metadata(out)["style_weight"] == api.config["style_weight"]
