import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lecturekit as lk

from lecturekit.fast import (CheckpointError, ConditionalInstanceNorm2d, TransformerNet, list_styles,
                             load_fast_style, save_fast_style, stylize, train_fast_style)
from lecturekit.fast.stylize import WEIGHTS_DIR, load_checkpoint_file, net_from_checkpoint


@pytest.mark.parametrize("norm, n", [("instance", 1), ("batch", 1), ("conditional", 3)])
def test_shapes(norm, n):
    net = TransformerNet(norm=norm, n_styles=n, width=8)
    assert net(torch.rand(2, 3, 32, 48)).shape == (2, 3, 32, 48)
    out = stylize(net, torch.rand(1, 3, 30, 45))  # not a multiple of 4: padded and cropped back
    assert out.shape == (1, 3, 30, 45) and out.min() >= 0 and out.max() <= 1


def test_instance_norm_normalizes_each_image_batch_norm_does_not():
    x = torch.randn(4, 6, 16, 16) * torch.arange(1, 5).view(4, 1, 1, 1) + torch.arange(4).view(4, 1, 1, 1)
    y = torch.nn.InstanceNorm2d(6)(x)
    assert torch.allclose(y.mean((2, 3)), torch.zeros(4, 6), atol=1e-5)
    assert torch.allclose(y.var((2, 3), unbiased=False), torch.ones(4, 6), atol=1e-3)
    b = torch.nn.BatchNorm2d(6).train()(x)
    per_image_means = b.mean((2, 3))
    assert per_image_means.abs().max() > 0.5               # images keep their own offsets
    assert torch.allclose(b.mean((0, 2, 3)), torch.zeros(6), atol=1e-5)


def test_conditional_in_with_one_hot_uses_that_styles_gamma_beta():
    cin = ConditionalInstanceNorm2d(5, 3)
    with torch.no_grad():
        cin.gamma.copy_(torch.randn(3, 5))
        cin.beta.copy_(torch.randn(3, 5))
    x = torch.randn(2, 5, 8, 8)
    w = torch.tensor([[0.0, 1.0, 0.0]] * 2)
    normed = torch.nn.functional.instance_norm(x)
    expected = normed * cin.gamma[1].view(1, 5, 1, 1) + cin.beta[1].view(1, 5, 1, 1)
    assert torch.allclose(cin(x, w), expected, atol=1e-5)
    half = torch.tensor([[0.5, 0.5, 0.0]] * 2)
    g = 0.5 * (cin.gamma[0] + cin.gamma[1])
    b = 0.5 * (cin.beta[0] + cin.beta[1])
    assert torch.allclose(cin(x, half), normed * g.view(1, 5, 1, 1) + b.view(1, 5, 1, 1), atol=1e-5)


def test_blend_weights_are_validated():
    net = TransformerNet(norm="conditional", n_styles=3, width=8)
    x = torch.rand(1, 3, 16, 16)
    stylize(net, x, {0: 0.25, 2: 0.75})
    with pytest.raises(ValueError, match="sum to 1"):
        stylize(net, x, {0: 0.5, 1: 0.6})
    with pytest.raises(ValueError, match=">= 0"):
        stylize(net, x, {0: 1.5, 1: -0.5})
    with pytest.raises(ValueError, match="Style 3 does not exist: this net has 3 styles"):
        stylize(net, x, 3)
    with pytest.raises(ValueError, match="conditional"):
        TransformerNet(norm="instance", n_styles=2)


def test_five_training_steps_lower_the_loss(lite0_random):
    from lecturekit.fast import perceptual_loss
    from lecturekit.fast.train import style_terms
    torch.manual_seed(0)
    photo = torch.rand(1, 3, 32, 32)  # crops of 32 px from a 32 px photo: every batch is the photo or its mirror
    style = [torch.rand(1, 3, 32, 32)]
    bb, d = lite0_random, lite0_random.defaults
    target = style_terms(bb, style, d.style_layers, 32)[0]
    net = TransformerNet(width=8)
    with torch.no_grad():
        before = perceptual_loss(bb, net(photo), photo, target, d.content_layers, (1.0, 10.0, 1.0))
    net, hist = train_fast_style(style, [photo], backbone=bb, steps=5, batch_size=2, size=32, net=net, lr=1e-3,
                                 progress=False)
    assert len(hist["total"]) == 5
    assert hist["style"][0] == pytest.approx(float(before["style"]), rel=0.05)  # the loss by hand (up to a mirror)
    assert hist["total"][-1] < hist["total"][0]


def test_training_resumes_from_a_checkpoint(lite0_random, tmp_path):
    content = [torch.rand(1, 3, 40, 40)]
    style = [torch.rand(1, 3, 32, 32)]
    ckpt = tmp_path / "run.ckpt"
    train_fast_style(style, content, backbone=lite0_random, steps=3, batch_size=1, size=32, width=8,
                     checkpoint_path=ckpt, checkpoint_every=1, progress=False)
    net, hist = train_fast_style(style, content, backbone=lite0_random, steps=5, batch_size=1, size=32, width=8,
                                 checkpoint_path=ckpt, progress=False)
    assert len(hist["total"]) == 5  # 3 from the first run + 2 new
    assert torch.load(ckpt, weights_only=True)["step"] == 5


def test_corrupt_or_foreign_checkpoints_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_fast_style(str(bad))
    net = TransformerNet(width=8)
    path = save_fast_style(net, tmp_path / "w8.pt", ["x"])
    ckpt = load_checkpoint_file(path)
    ckpt["config"]["width"] = 16
    with pytest.raises(CheckpointError, match="another architecture"):
        net_from_checkpoint(ckpt, path)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a lecturekit"):
        load_fast_style(str(tmp_path / "other.pt"))
    with pytest.raises(FileNotFoundError, match="Known"):
        load_fast_style("no_such_style")


def test_save_and_load_roundtrip(tmp_path):
    net = TransformerNet(norm="conditional", n_styles=2, width=8)
    path = save_fast_style(net, tmp_path / "two.pt", ["a", "b"], steps=7)
    loaded = load_fast_style(str(path))
    assert loaded.styles == ["a", "b"] and loaded.training_config["steps"] == 7
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(stylize(net, x, 1), stylize(loaded, x, 1), atol=5e-3)


def test_shipped_nets():
    names = list_styles()
    assert len(names) >= 4
    nets = [load_fast_style(n) for n in names]
    singles = [n for n in nets if n.norm_kind == "instance"]
    multi = [n for n in nets if n.norm_kind == "conditional"]
    assert len(singles) >= 3 and multi and max(n.n_styles for n in multi) >= 4
    for n in names:
        path = Path(str(WEIGHTS_DIR)) / f"{n}.pt"
        if load_fast_style(n).norm_kind == "instance":
            assert path.stat().st_size <= 4 * 1024 * 1024
    out = stylize(multi[0], torch.rand(1, 3, 64, 64), {0: 0.5, 1: 0.5})
    assert out.shape == (1, 3, 64, 64)


@pytest.mark.slow
def test_distributed_training_with_two_cpu_processes(tmp_path):
    style = tmp_path / "style.png"
    from lecturekit.images import save_image
    save_image(torch.rand(1, 3, 48, 48), style)
    content = tmp_path / "content"
    content.mkdir()
    for i in range(3):
        save_image(torch.rand(1, 3, 48, 48), content / f"{i}.png")
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517",
           "-m", "lecturekit.fast.train", "--style", str(style), "--content", str(content), "--out", str(out),
           "--steps", "3", "--batch-size", "1", "--size", "32", "--width", "8", "--backbone", "efficientnet_lite0"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert out.exists() and load_fast_style(str(out)).width == 8


def test_stylize_takes_any_image_source_and_style_names(tmp_path):
    net = load_fast_style("five_styles")
    photo = torch.rand(1, 3, 24, 32)
    by_index = stylize(net, photo, 1)
    assert torch.equal(stylize(net, photo, net.styles[1]), by_index)
    assert torch.equal(stylize(net, photo, {net.styles[0]: 0.5, 1: 0.5}), stylize(net, photo, {0: 0.5, 1: 0.5}))
    lk.save_image(photo, tmp_path / "p.png")
    assert stylize(net, tmp_path / "p.png", 1).shape == (1, 3, 24, 32)
    assert stylize(net, (photo[0].permute(1, 2, 0).numpy() * 255).round().astype("uint8"), 1).shape == (1, 3, 24, 32)
    with pytest.raises(ValueError, match="no style named 'monet'"):
        stylize(net, photo, "monet")


def test_stylize_refuses_what_it_cannot_paint():
    single = load_fast_style("starry_night")
    with pytest.raises(ValueError, match="Style 3 does not exist: this net has 1 style"):
        stylize(single, torch.rand(1, 3, 16, 16), 3)
    with pytest.raises(ValueError, match="A tensor image must be"):
        stylize(single, torch.rand(1, 4, 16, 16))
    with pytest.raises(lk.ImageLoadError):
        stylize(single, "no_such_photo.jpg")


# --------------------------------------------------------------------------- a second registered architecture
class TinyNet(torch.nn.Module):
    """The registry's protocol and nothing more: keyword config, .config, forward(x, style_weights)."""

    def __init__(self, n_styles: int = 1, width: int = 4):
        super().__init__()
        self.n_styles, self.width = n_styles, width
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3 + n_styles, width, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(width, width, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.Conv2d(width, 3, 3, padding=1))

    @property
    def config(self) -> dict:
        return dict(arch="tiny_test", n_styles=self.n_styles, width=self.width)

    def forward(self, x, style_weights):
        w = style_weights[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return torch.sigmoid(self.body(torch.cat([x, w], 1)))


def test_a_second_registered_architecture_trains_saves_loads_and_stylizes(lite0_random, tmp_path, monkeypatch):
    from lecturekit.fast import registry
    monkeypatch.setitem(registry.ARCHITECTURES, "tiny_test", TinyNet)
    registry.register("tiny_test", TinyNet)
    styles = [torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)]
    net, hist = train_fast_style(styles, [torch.rand(1, 3, 40, 40)], backbone=lite0_random, arch="tiny_test",
                                 steps=2, batch_size=1, size=32, width=6, style_names=["a", "b"], progress=False)
    assert isinstance(net, TinyNet) and net.n_styles == 2 and len(hist["total"]) == 2
    assert "saturation" not in hist  # no logits=True: trained without the penalty
    path = save_fast_style(net, tmp_path / "tiny.pt")
    loaded = load_fast_style(str(path))
    assert isinstance(loaded, TinyNet) and loaded.config == net.config and loaded.styles == ["a", "b"]
    x = torch.rand(1, 3, 30, 30)
    assert torch.allclose(stylize(loaded, x, "b"), stylize(net, x, 1), atol=5e-3)
    blend = stylize(loaded, x, {0: 0.5, 1: 0.5})
    assert blend.shape == x.shape and 0 <= blend.min() and blend.max() <= 1


def test_training_stops_on_nan_and_keeps_the_last_good_weights(lite0_random):
    from lecturekit.fast import fit
    net = torch.nn.Linear(2, 1)
    calls = []

    def loss(n, x):
        calls.append(1)
        value = n(x).pow(2).mean()
        return {"mse": value * (float("nan") if len(calls) == 3 else 1.0)}
    opt = torch.optim.SGD(net.parameters(), 0.1)
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.warns(RuntimeWarning, match="NaN or infinite at step 3"):
        hist = fit(net, loss, iter([torch.ones(4, 2)] * 10), opt, 10)
    assert hist.stopped == "nan" and len(hist["total"]) == 2
    # the weights whose loss was last finite: those of step 2, before its update
    assert not all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert torch.isfinite(torch.cat([p.flatten() for p in net.parameters()])).all()


def test_training_ctrl_c_stops_and_saves_the_steps_done(lite0_random, tmp_path):
    calls = []

    def stop_at_third(step, history):
        calls.append(step)
        if step == 2:
            raise KeyboardInterrupt
    ckpt = tmp_path / "run.ckpt"
    with pytest.warns(RuntimeWarning, match="Interrupted at step 2 of 5"):
        net, hist = train_fast_style([torch.rand(1, 3, 32, 32)], [torch.rand(1, 3, 40, 40)], backbone=lite0_random,
                                     steps=5, batch_size=1, size=32, width=4, checkpoint_path=ckpt, progress=False,
                                     callback=stop_at_third)
    assert hist.stopped == "interrupted" and len(hist["total"]) == 2
    assert torch.load(ckpt, weights_only=True)["step"] == 2


def test_training_cli_defaults_are_the_train_config_defaults():
    import dataclasses

    from lecturekit.__main__ import config_values
    from lecturekit.configs import TrainConfig
    from lecturekit.fast.cli import build_parser
    args = build_parser().parse_args(["--style", "starry_night", "--out", "n.pt"])
    assert config_values(args, TrainConfig) == dataclasses.asdict(TrainConfig())
    args = build_parser().parse_args(["--style", "a", "--out", "n.pt", "--checkpoint", "c.ckpt", "--tv-weight", "2"])
    assert args.checkpoint_path == "c.ckpt" and args.tv_weight == 2.0


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_one_style_magenta_net_with_its_own_norm_saves_and_loads(norm, tmp_path):
    from lecturekit.fast import load_fast_style, save_fast_style
    from lecturekit.fast.magenta_net import MagentaNet
    torch.manual_seed(0)
    net = MagentaNet(n_styles=1, styles=["x"], norm=norm, width=8, n_res=1)
    net.train()
    net(torch.rand(2, 3, 32, 32))          # batch norm: running statistics that differ from the start
    net.eval()
    path = save_fast_style(net, tmp_path / "n.pt", half=False)
    back = load_fast_style(str(path))
    assert back.norm_kind == norm and back.styles == ["x"]
    x = torch.rand(1, 3, 32, 40)
    assert torch.allclose(back(x, 0), net(x, 0), atol=1e-6)


def test_magenta_net_refuses_several_styles_without_conditional_norm():
    from lecturekit.fast.magenta_net import MagentaNet
    with pytest.raises(ValueError, match="conditional"):
        MagentaNet(n_styles=3, norm="batch")
    with pytest.raises(ValueError, match="norm must be"):
        MagentaNet(n_styles=1, norm="layer")


def test_chroma_tv_weight_weighs_the_chroma_part_on_its_own(lite0_random):
    from lecturekit.fast import perceptual_loss
    from lecturekit.fast.train import style_terms
    from lecturekit.losses import total_variation
    torch.manual_seed(0)
    bb, d = lite0_random, lite0_random.defaults
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    target = style_terms(bb, [torch.rand(1, 3, 32, 32)], d.style_layers, 32)[0]
    luminance, chroma = total_variation(y)
    three = perceptual_loss(bb, y, x, target, d.content_layers, (1.0, 10.0, 2.0))
    four = perceptual_loss(bb, y, x, target, d.content_layers, (1.0, 10.0, 2.0, 7.0))
    assert float(three["tv"]) == pytest.approx(float(2.0 * (luminance + chroma)), rel=1e-5)
    assert float(four["tv"]) == pytest.approx(float(2.0 * luminance + 7.0 * chroma), rel=1e-5)
    assert float(four["style"]) == pytest.approx(float(three["style"]), rel=1e-6)


def test_style_size_sets_the_painting_scale_of_the_gram_targets(lite0_random, monkeypatch):
    from lecturekit.configs import TrainConfig
    from lecturekit.fast import train as train_module
    from lecturekit.checks import ParameterError
    seen = []
    real = train_module.style_terms
    monkeypatch.setattr(train_module, "style_terms", lambda bb, s, layers, size: seen.append(size) or real(bb, s, layers, size))
    style, content = [torch.rand(1, 3, 64, 64)], [torch.rand(1, 3, 40, 40)]
    train_fast_style(style, content, backbone=lite0_random, steps=1, batch_size=1, size=32, width=8, progress=False)
    train_fast_style(style, content, backbone=lite0_random, steps=1, batch_size=1, size=32, width=8, style_size=48,
                     chroma_tv_weight=3.0, progress=False)
    assert seen == [32, 48]
    with pytest.raises(ParameterError, match="style_size"):
        TrainConfig(style_size=3)
    with pytest.raises(ParameterError, match="chroma_tv_weight"):
        TrainConfig(chroma_tv_weight=-1.0)
