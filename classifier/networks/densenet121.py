"""DenseNet-121 patch classifier with TensorFlow "SAME" padding (MODEL.md section 5).

Parameter names follow torchvision's DenseNet-121 (`features.conv0`, `features.denseblockN.
denselayerK.norm1`, ..., `classifier`), the layout of the published `sample_patch_model.p`. Only
`conv0` (7x7/2) and `pool0` (3x3/2) pad differently from PyTorch's symmetric padding; they pad the
smaller half before and the larger half after. The 3x3/1 convolutions pad 1/1 under either rule.
Softmax class 0 is malignant and class 1 benign (the two heatmap classes).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

GROWTH_RATE = 32
BOTTLENECK_WIDTH = 4 * GROWTH_RATE
INITIAL_FEATURES = 64
BLOCK_LAYERS = (6, 12, 24, 16)
PATCH_CLASSES = ("malignant", "benign", "outside", "negative")
MALIGNANT, BENIGN = 0, 1


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow SAME padding (before, after) along one axis of length `size`."""
    if size % stride == 0:
        total = max(kernel - stride, 0)
    else:
        total = max(kernel - size % stride, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


class SameConv2d(nn.Conv2d):
    """Conv2d that zero-pads its input TF-SAME style (its own `padding` is 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_pad_same(x, self.kernel_size[0], self.stride[0]))


class SameMaxPool2d(nn.MaxPool2d):
    """MaxPool2d with TF-SAME zero padding (the input follows a ReLU, so zeros never win wrongly)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_pad_same(x, self.kernel_size, self.stride))


class DenseLayer(nn.Module):
    def __init__(self, in_features: int):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_features, BOTTLENECK_WIDTH, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(BOTTLENECK_WIDTH)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(BOTTLENECK_WIDTH, GROWTH_RATE, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.Module):
    """Every layer sees the concatenation of the block input and all earlier layers' outputs.

    With `preallocate` set (by `optimize_for_inference`), features are written into one buffer
    instead of being re-concatenated for every layer; the arithmetic is identical.
    """

    def __init__(self, num_layers: int, in_features: int):
        super().__init__()
        self.in_features = in_features
        self.out_features = in_features + num_layers * GROWTH_RATE
        self.preallocate = False
        for index in range(num_layers):
            self.add_module(f"denselayer{index + 1}", DenseLayer(in_features + index * GROWTH_RATE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preallocate:
            return self._forward_preallocated(x)
        features = [x]
        for layer in self.children():
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)

    def _forward_preallocated(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        buffer = torch.empty((n, self.out_features, h, w), dtype=x.dtype, device=x.device, memory_format=memory_format)
        buffer[:, : self.in_features] = x
        filled = self.in_features
        for layer in self.children():
            buffer[:, filled : filled + GROWTH_RATE] = layer(buffer[:, :filled])
            filled += GROWTH_RATE
        return buffer


class Transition(nn.Sequential):
    def __init__(self, in_features: int, out_features: int):
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(in_features),
                relu=nn.ReLU(inplace=True),
                conv=nn.Conv2d(in_features, out_features, 1, bias=False),
                pool=nn.AvgPool2d(2, stride=2),
            )
        )


class PatchDenseNet121(nn.Module):
    """forward(x (N, 3, 256, 256)) -> logits (N, num_classes)."""

    def __init__(self, num_classes: int = len(PATCH_CLASSES)):
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv0=SameConv2d(3, INITIAL_FEATURES, 7, stride=2, padding=0, bias=False),
            norm0=nn.BatchNorm2d(INITIAL_FEATURES),
            relu0=nn.ReLU(inplace=True),
            pool0=SameMaxPool2d(3, stride=2, padding=0),
        )
        features = INITIAL_FEATURES
        for index, num_layers in enumerate(BLOCK_LAYERS):
            block = DenseBlock(num_layers, features)
            layers[f"denseblock{index + 1}"] = block
            features = block.out_features
            if index < len(BLOCK_LAYERS) - 1:
                layers[f"transition{index + 1}"] = Transition(features, features // 2)
                features //= 2
        layers["norm5"] = nn.BatchNorm2d(features)
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(features, num_classes)
        # Set by optimize_for_inference: feed oneDNN channels-last activations.
        self.channels_last = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a (N, 3, H, W) tensor, got shape {tuple(x.shape)}")
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = F.relu(self.features(x))
        return self.classifier(x.mean(dim=(2, 3)))


def patch_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the 4 classes; column 0 malignant, column 1 benign."""
    return F.softmax(logits, dim=1)
