import pytest
import torch
from torch import nn

import lecturekit as lk
from lecturekit.models import UnknownLayerError, WeightsUnavailableError, build_backbone
from lecturekit.models import zoo

EXPECTED_HOPPER = {652, 667, 400, 457, 906, 834}


def test_grace_hopper_proves_real_weights(lite0):
    img = lk.data.load("grace_hopper")
    top5 = lite0.classify(img, top=5)
    ids = [i for i, _, _ in top5]
    assert len(EXPECTED_HOPPER & set(ids)) >= 2, top5
    assert {667, 400, 652} <= set(ids[:3])
    assert all(isinstance(label, str) for _, label, _ in top5)
    assert sum(p for _, _, p in top5) <= 1.0


def test_lite0_layers_and_shapes(lite0):
    assert lite0.layers == ["stem"] + [f"stage{i}" for i in range(7)] + ["head"]
    f = lite0.features(torch.rand(1, 3, 64, 64), ["stem", "stage3", "stage3.1"])
    assert f["stem"].shape == (1, 32, 32, 32)
    assert f["stage3"].shape == (1, 80, 4, 4)
    assert f["stage3.1"].shape == (1, 80, 4, 4)


def test_features_stop_at_the_deepest_layer(lite0):
    ran = []
    hooks = [m.register_forward_hook(lambda *a, i=i: ran.append(i)) for i, m in enumerate(lite0.stages)]
    try:
        lite0.features(torch.rand(1, 3, 32, 32), ["stage1"])
    finally:
        for h in hooks:
            h.remove()
    assert max(ran) == lite0.layer_index("stage1") < len(lite0.stages) - 1


def test_unknown_layer_lists_valid_names(lite0):
    with pytest.raises(UnknownLayerError) as e:
        lite0.features(torch.rand(1, 3, 32, 32), ["conv4_2"])
    assert "conv4_2" in str(e.value) and "stage2" in str(e.value)


def test_backbone_is_frozen(lite0):
    before = {k: v.clone() for k, v in lite0.state_dict().items()}
    lite0.train()
    assert not lite0.training and not any(m.training for m in lite0.modules())
    assert not any(p.requires_grad for p in lite0.parameters())
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    lite0.features(x, "stage2")["stage2"].sum().backward()
    assert x.grad is not None
    for k, v in lite0.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_normalization(lite0):
    x = torch.rand(1, 3, 8, 8)
    expected = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(lite0.normalize(x), expected)


@pytest.mark.parametrize("name, first, last, probe", [
    ("vgg19", "conv1_1", "pool5", ["conv1_1", "relu1_1", "conv4_2", "relu5_4", "pool5"]),
    ("vgg16", "conv1_1", "pool5", ["conv3_3", "relu5_3"]),
    ("googlenet", "conv1", "inception5b", ["inception3a", "inception4c", "inception5b"]),
    ("squeezenet1_1", "conv1", "fire9", ["fire2", "fire9"]),
])
def test_classic_nets_with_random_weights(name, first, last, probe):
    bb = lk.load_backbone(name, weights=None, device="cpu")
    assert bb.layers[0] == first and bb.layers[-1] == last
    x = torch.rand(1, 3, 64, 64)
    feats = bb.features(x, probe)
    assert list(feats) == probe
    out = bb.logits(torch.rand(1, 3, 224, 224))
    assert out.shape == (1, 1000)
    for layer in [*bb.defaults.style_layers, *bb.defaults.content_layers, *bb.defaults.gatys_content_layers,
                  *bb.defaults.dream_layer_grid]:
        bb.layer_index(layer)


def test_vgg_relu_does_not_overwrite_conv_output():
    bb = lk.load_backbone("vgg19", weights=None, device="cpu")
    f = bb.features(torch.rand(1, 3, 32, 32), ["conv1_1", "relu1_1"])
    assert (f["conv1_1"] < 0).any()
    assert torch.equal(f["relu1_1"], f["conv1_1"].clamp_min(0))


def test_average_pooling_swap():
    bb = lk.load_backbone("vgg19", weights=None, device="cpu")
    x = torch.rand(1, 3, 32, 32)
    conv = bb.features(x, "relu1_2")["relu1_2"]
    assert torch.allclose(bb.features(x, "pool1", pooling="avg")["pool1"], nn.functional.avg_pool2d(conv, 2))
    assert torch.allclose(bb.features(x, "pool1")["pool1"], nn.functional.max_pool2d(conv, 2))


def test_offline_weights_give_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("LECTUREKIT_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError) as e:
        build_backbone("vgg19")
    msg = str(e.value)
    assert "vgg19-dcbb9e9d.pth" in msg and str(tmp_path) in msg
    assert "python -m lecturekit download vgg19" in msg and "efficientnet_lite0" in msg


def test_failed_download_gives_the_same_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("LECTUREKIT_OFFLINE", raising=False)
    from torchvision.models import GoogLeNet_Weights

    def no_network(self, *a, **k):
        raise OSError("Name or service not known")
    monkeypatch.setattr(GoogLeNet_Weights.IMAGENET1K_V1.__class__, "get_state_dict", no_network)
    with pytest.raises(WeightsUnavailableError, match="googlenet.*download failed"):
        build_backbone("googlenet")


def test_lite0_keys_are_mapped_by_name():
    sd = zoo.load_lite0_state_dict()
    sd = dict(sd)
    sd["_blocks.3._depthwise_conv.weightX"] = sd.pop("_blocks.3._depthwise_conv.weight")
    with pytest.raises(WeightsUnavailableError, match="_blocks.3._depthwise_conv.weight"):
        zoo._build_lite0(sd)


def test_corrupt_lite0_file(tmp_path):
    bad = tmp_path / "efficientnet-lite0-57934424.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(WeightsUnavailableError, match=str(bad)):
        zoo.load_lite0_state_dict(bad)


def test_default_backbone_choice(monkeypatch):
    from lecturekit.models import default_backbone_name
    monkeypatch.setenv("LECTUREKIT_BACKBONE", "squeezenet1_1")
    assert default_backbone_name() == "squeezenet1_1"
    monkeypatch.delenv("LECTUREKIT_BACKBONE")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_backbone_name() == "efficientnet_lite0"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_backbone_name() == "vgg19"


def test_unknown_backbone_and_weights():
    with pytest.raises(ValueError, match="vgg19"):
        build_backbone("resnet9000")
    with pytest.raises(ValueError, match="pretrained"):
        build_backbone("efficientnet_lite0", weights="imagenet")


def test_same_padding_matches_tensorflow():
    from lecturekit.models.efficientnet_lite import SameConv2d
    conv = SameConv2d(1, 1, 3, stride=2, bias=False)
    nn.init.ones_(conv.weight)
    y = conv(torch.ones(1, 1, 4, 4))
    # TF pads 0 on top/left and 1 on bottom/right for an even input with stride 2
    assert y.shape == (1, 1, 2, 2)
    assert y[0, 0].tolist() == [[9.0, 6.0], [6.0, 4.0]]


@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("size", [(16, 16), (15, 16), (16, 15), (15, 15), (7, 10)])
def test_same_padding_in_the_kernel_equals_padding_the_input(kernel, size):
    """The zero tap moved into the kernel gives exactly TensorFlow's SAME convolution, and its gradient."""
    import math
    from lecturekit.models.efficientnet_lite import SameConv2d
    torch.manual_seed(0)
    conv = SameConv2d(4, 4, kernel, stride=2, groups=4, bias=True).double()
    x = torch.randn(2, 4, *size, dtype=torch.float64, requires_grad=True)
    pads = []
    for n, k in zip(size[::-1], (kernel, kernel)):
        total = max((math.ceil(n / 2) - 1) * 2 + k - n, 0)
        pads += [total // 2, total - total // 2]
    expected = nn.functional.conv2d(nn.functional.pad(x, pads), conv.weight, conv.bias, 2, 0, 1, 4)
    y = conv(x)
    assert y.shape == expected.shape == (2, 4, math.ceil(size[0] / 2), math.ceil(size[1] / 2))
    assert torch.allclose(y, expected, atol=1e-12)
    g = torch.randn_like(y)
    (gy,) = torch.autograd.grad(y, x, g, retain_graph=True)
    (ge,) = torch.autograd.grad(expected, x, g)
    assert torch.allclose(gy, ge, atol=1e-12)


def test_device_picks_cuda_then_mps_then_cpu(monkeypatch):
    import torch

    import lecturekit as lk
    monkeypatch.delenv("LECTUREKIT_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert lk.device().type == expected
    monkeypatch.setenv("LECTUREKIT_DEVICE", "cpu")
    assert lk.device() == torch.device("cpu") and lk.pick_device() == torch.device("cpu")


def test_device_override_that_cannot_work_says_so(monkeypatch):
    import torch

    import lecturekit as lk
    monkeypatch.setenv("LECTUREKIT_DEVICE", "tpu9")
    with pytest.raises(ValueError, match="LECTUREKIT_DEVICE='tpu9' is not a device"):
        lk.device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("LECTUREKIT_DEVICE", "cuda")
        with pytest.raises(ValueError, match="no CUDA GPU"):
            lk.device()


def test_mps_fallback_is_on_before_torch_loads():
    import os
    import subprocess
    import sys
    code = "import lecturekit, os; print(os.environ['PYTORCH_ENABLE_MPS_FALLBACK'])"
    env = {k: v for k, v in os.environ.items() if k != "PYTORCH_ENABLE_MPS_FALLBACK"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "1"


def test_test_mode_gives_the_named_net_with_random_weights(monkeypatch):
    import lecturekit as lk
    monkeypatch.setenv("LECTUREKIT_TEST_BACKBONE", "squeezenet1_1")
    bb = lk.load_backbone("efficientnet_lite0")
    assert bb.name == "squeezenet1_1" and bb.weights is None
    assert max(lk.load_image(torch.rand(1, 3, 300, 200)).shape[-2:]) == 64
    assert "test mode" in lk.models.why(bb.name)
    for field in ("shallow", "early", "mid", "deep", "deeper", "deepest"):
        bb.layer_index(getattr(bb.defaults, field))


@pytest.mark.parametrize("name", lk.BACKBONES)
def test_every_backbone_has_the_ladder_of_depths(name):
    bb = build_backbone(name, weights=None)
    ladder = [bb.layer_index(getattr(bb.defaults, f)) for f in ("shallow", "early", "mid", "deep", "deeper", "deepest")]
    assert ladder == sorted(ladder) and len(set(ladder)) >= 5, ladder
    assert {"content_low", "content_high"} <= set(bb.defaults.notes)


@pytest.mark.parametrize("name", lk.BACKBONES)
def test_the_deep_layers_are_inversion_layers(name):
    """Notebook 02 inverts at `deep` and `deepest` among the inversion layers, on every backbone."""
    d = build_backbone(name, weights=None).defaults
    assert {d.deep, d.deepest} <= set(d.inversion_layers)
