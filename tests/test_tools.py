"""The tools a maintainer runs: the GPU check's dry run."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_dry_run(capsys):
    """tools/gpu_check.py's code paths, tiny, on the CPU (the real run needs a CUDA machine)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import gpu_check
    assert gpu_check.main(["--quick", "--device", "cpu"]) == 0
    table = capsys.readouterr().out
    assert "| Gatys step, VGG-19, 64 px, bfloat16 |" in table and "frames/s" in table


def _trainer():
    sys.path.insert(0, str(ROOT / "tools"))
    import train_shipped_styles
    return train_shipped_styles


def test_a_new_style_starts_from_magenta26_with_only_its_norms_trainable():
    import torch
    tool = _trainer()
    net = tool.start_net("starry_night", "instance")
    trainable = [n for n, p in net.named_parameters() if p.requires_grad]
    assert trainable and all(".norm." in n for n in trainable)
    source = tool.lk.fast.load_fast_style("magenta26")
    assert torch.equal(net.contract[0].conv.weight, source.contract[0].conv.weight.float())
    assert torch.allclose(net.contract[0].norm.layer.weight, source.contract[0].norm.layer.gamma.float().mean(0))
    twin = tool.start_net("starry_night", "batch")
    assert isinstance(twin.res[0].a.norm.layer, torch.nn.BatchNorm2d)
    assert torch.equal(twin.res[0].a.norm.layer.bias, net.res[0].a.norm.layer.bias)


def test_stacked_rows_paint_what_each_instance_net_paints(tmp_path, monkeypatch):
    """The conditional net built from instance-norm nets gives, for each one-hot style, that net's picture."""
    import torch
    tool = _trainer()
    monkeypatch.setattr(tool, "CHECKPOINTS", tmp_path)
    gen = torch.Generator().manual_seed(0)
    nets = {}
    for style in ("a", "b"):
        net = tool.start_net(style, "instance")
        with torch.no_grad():
            for p in net.parameters():
                if p.requires_grad:
                    p.add_(0.3 * torch.randn(p.shape, generator=gen))
        torch.save({"state_dict": net.state_dict(), "history": {"total": [1.0]}}, tool.checkpoint_path(style, "instance"))
        nets[style] = net.eval()
    multi = tool.stacked(["a", "b"])
    x = torch.rand(1, 3, 32, 48, generator=gen)
    with torch.no_grad():
        for k, style in enumerate(("a", "b")):
            assert torch.allclose(multi(x, k), nets[style](x, 0), atol=1e-5)
        assert not torch.allclose(multi(x, 0), multi(x, 1), atol=1e-3)


def test_grid_candidates_change_only_what_their_variant_names():
    sys.path.insert(0, str(ROOT / "tools"))
    import train_gpu_grid as grid
    tool = _trainer()
    jobs = grid.jobs()
    assert len(jobs) == len(tool.STYLES) * len(grid.VARIANTS) + len(grid.TWIN_VARIANTS)
    base = tool.recipe("the_scream")
    o = grid.options(jobs["the_scream__ft512"])
    assert (o["train"], o["style_size"], o["size"]) == ("all", 512, base["size"])
    assert o["content_weight"] == 1.5 * base["content_weight"] and o["chroma_tv_weight"] == 3 * base["tv_weight"]
    assert (o["style_weight"], o["tv_weight"]) == (base["style_weight"], base["tv_weight"])
    g = grid.options(jobs["the_scream__gb512"])
    assert g["train"] == "norms" and g["content_weight"] == base["content_weight"]


def test_adopting_a_grid_checkpoint_records_every_stage(tmp_path, monkeypatch):
    """`--adopt` follows a round-2 job back to the round-1 job it started from and to the CPU recipe."""
    import json
    import torch
    sys.path.insert(0, str(ROOT / "tools"))
    import train_gpu_grid as grid
    tool = _trainer()
    monkeypatch.setattr(tool, "CHECKPOINTS", tmp_path / "checkpoints")
    (tmp_path / "checkpoints").mkdir()
    net = tool.start_net("great_wave", "instance")
    first = dict(name="great_wave__ft512", options=grid.options(dict(style="great_wave", variant="ft512")),
                 gpu_steps=30, where="gpu")
    second = dict(name="great_wave__ft512c10", options=dict(first["options"], chroma_tv_weight=8.0), gpu_steps=20)
    (tmp_path / "jobs.json").write_text(json.dumps([first, second, dict(name="other", failed="...")]))
    torch.save({"state_dict": net.state_dict(), "history": {"total": [1.0] * 650}, "optimizer": {}},
               tmp_path / "great_wave__ft512c10.ckpt")
    tool.adopt(tmp_path, "great_wave__ft512c10", "great_wave_all")
    ckpt = torch.load(tmp_path / "checkpoints" / "great_wave_all.ckpt", weights_only=True)
    assert [(s["where"], s["steps"]) for s in ckpt["stages"]] == [("cpu", 600), ("gpu", 30), ("gpu", 20)]
    assert ckpt["stages"][0]["batch_size"] == tool.recipe("great_wave")["batch_size"]
    assert ckpt["stages"][2]["chroma_tv_weight"] == 8.0 and "optimizer" not in ckpt
