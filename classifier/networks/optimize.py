"""Inference-time rewrites that keep the arithmetic exact up to float32 rounding.

`optimize_for_inference(model)` works in place on an eval-mode model and returns it:

- Folds every BatchNorm that directly follows a convolution into that convolution (weight scaled
  per output channel, bias added). In the pre-activation ResNet-22 block that is `bn2` after
  `conv1`; in DenseNet-121 `norm0` after `conv0` and `norm2` after each `conv1`. The other
  BatchNorms follow a residual sum, a pooling or a concatenation that other layers also read, so
  they cannot be folded exactly and stay as they are.
- DenseNet blocks write each layer's output into one preallocated buffer instead of concatenating
  all earlier outputs again for every layer.
- Parameters are converted to channels-last memory format, which oneDNN's CPU convolutions run
  faster; inputs are converted by the trunks on the fly.

The model keeps its classes and methods, but its state dict no longer has the published keys
(folded BatchNorms are gone): save weights from an unoptimized model.
"""
from __future__ import annotations

import torch
from torch import nn

from .densenet121 import DenseBlock, DenseLayer, PatchDenseNet121
from .resnet22 import BasicBlockV2, ResNet22

OPTIMIZED_ATTRIBUTE = "inference_optimized"


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A copy of `conv` (same class) computing bn(conv(x)) with frozen BatchNorm statistics."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("cannot fold a BatchNorm without running statistics")
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps) if bn.affine else torch.rsqrt(bn.running_var + bn.eps)
    shift = bn.bias.detach() if bn.affine else torch.zeros_like(scale)
    conv_bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(scale)
    fused = conv.__class__(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
    ).to(device=conv.weight.device, dtype=conv.weight.dtype)
    with torch.no_grad():
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        fused.bias.copy_((conv_bias - bn.running_mean) * scale + shift)
    return fused


def optimize_for_inference(model: nn.Module, *, channels_last: bool = True) -> nn.Module:
    """Rewrite `model` in place for fast eval-mode inference (see the module docstring)."""
    if getattr(model, OPTIMIZED_ATTRIBUTE, False):
        return model
    model.eval()
    for module in list(model.modules()):
        if isinstance(module, BasicBlockV2):
            module.conv1 = fold_batchnorm(module.conv1, module.bn2)
            module.bn2 = nn.Identity()
        elif isinstance(module, DenseLayer):
            module.conv1 = fold_batchnorm(module.conv1, module.norm2)
            module.norm2 = nn.Identity()
        elif isinstance(module, DenseBlock):
            module.preallocate = True
        elif isinstance(module, PatchDenseNet121):
            module.features.conv0 = fold_batchnorm(module.features.conv0, module.features.norm0)
            module.features.norm0 = nn.Identity()
    for module in model.modules():
        if isinstance(module, (ResNet22, PatchDenseNet121)):
            module.channels_last = channels_last
    if channels_last:
        model.to(memory_format=torch.channels_last)
    setattr(model, OPTIMIZED_ATTRIBUTE, True)
    return model
