"""ResNet-22 trunk of the published view-wise model (MODEL.md section 7).

Pre-activation residual blocks (BatchNorm and ReLU before each convolution); parameter names
match the published state-dict keys (`first_conv`, `layer_list.<stage>.<block>.*`, `final_bn`).
The trunk returns the spatial feature map; the models average it to 256 features per view.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

STAGE_PLANES = (16, 32, 64, 128, 256)
STAGE_STRIDES = (1, 2, 2, 2, 2)
BLOCKS_PER_STAGE = 2
FEATURE_CHANNELS = STAGE_PLANES[-1]


class BasicBlockV2(nn.Module):
    """bn1-relu-conv1-bn2-relu-conv2 plus residual; no activation after the addition.

    The first block of every stage owns a 1x1 `downsample` convolution applied to the activated
    input (not the raw input), exactly as in the published block.
    """

    def __init__(self, in_planes: int, planes: int, stride: int, downsample: bool):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.downsample = (
            nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)) if downsample else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In-place ReLU and addition act on fresh tensors that nothing else reads (and that no
        # backward pass needs), so they only save allocations.
        activated = F.relu(self.bn1(x), inplace=True)
        residual = self.downsample(activated) if self.downsample is not None else x
        out = self.conv1(activated)
        out = F.relu(self.bn2(out), inplace=True)
        return self.conv2(out).add_(residual)


class ResNet22(nn.Module):
    """The published `ViewResNetV2` trunk built by `resnet22(input_channels)`."""

    def __init__(self, in_channels: int):
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 (image only) or 3 (image + heatmaps), got {in_channels!r}")
        self.in_channels = in_channels
        self.first_conv = nn.Conv2d(in_channels, STAGE_PLANES[0], 7, stride=2, padding=0, bias=False)
        self.first_pool = nn.MaxPool2d(3, stride=2, padding=0)
        stages = []
        in_planes = STAGE_PLANES[0]
        for planes, stride in zip(STAGE_PLANES, STAGE_STRIDES, strict=False):
            blocks = [BasicBlockV2(in_planes, planes, stride, downsample=True)]
            blocks += [BasicBlockV2(planes, planes, 1, downsample=False) for _ in range(BLOCKS_PER_STAGE - 1)]
            stages.append(nn.Sequential(*blocks))
            in_planes = planes
        self.layer_list = nn.ModuleList(stages)
        self.final_bn = nn.BatchNorm2d(FEATURE_CHANNELS)
        # Set by optimize_for_inference: feed oneDNN channels-last activations.
        self.channels_last = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected a (N, {self.in_channels}, H, W) tensor, got shape {tuple(x.shape)}"
            )
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.first_pool(self.first_conv(x))
        for stage in self.layer_list:
            x = stage(x)
        return F.relu(self.final_bn(x))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 256) channel means of the final feature map."""
        return self.forward(x).mean(dim=(2, 3))
