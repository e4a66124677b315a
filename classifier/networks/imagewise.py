"""Image-wise models (MODEL.md section 9).

`ImageBreastModel` keeps the shared `cc`/`mlo` trunks (with the alias prefixes, as in the
published "ModeImage" weight files) and gives every view its own head. `SingleImageBreastModel`
classifies one image: one trunk, `fc1` and a (benign, malignant) x (negative, positive) output.
It is built from a ModeImage state dict by `single_image_state_dict(state, view)`, which applies
the published loading rules: trunk by view angle, that view's `fc1`, and the first 4 rows of that
view's output layer.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from .heads import OutputLayer, add_training_noise
from .resnet22 import FEATURE_CHANNELS, ResNet22
from .viewwise import LABELS, VIEWS, FourViewResNet, check_views, view_angle

VIEW_SUFFIXES = {"L-CC": "lcc", "R-CC": "rcc", "L-MLO": "lmlo", "R-MLO": "rmlo"}
SINGLE_IMAGE_ROWS = ("benign", "malignant")


class ImageBreastModel(nn.Module):
    """forward(views) -> {view: (N, 4, 2) log-softmax}, one head per view."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.in_channels = in_channels
        self.four_view_resnet = FourViewResNet(in_channels)
        for suffix in VIEW_SUFFIXES.values():
            setattr(self, f"fc1_{suffix}", nn.Linear(FEATURE_CHANNELS, FEATURE_CHANNELS))
        for suffix in VIEW_SUFFIXES.values():
            setattr(self, f"output_layer_{suffix}", OutputLayer(FEATURE_CHANNELS, len(LABELS)))

    def view_output(self, view: str, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = add_training_noise(x)
        suffix = VIEW_SUFFIXES[view]
        features = self.four_view_resnet.trunk(view).pooled(x)
        hidden = F.relu(getattr(self, f"fc1_{suffix}")(features))
        return getattr(self, f"output_layer_{suffix}")(hidden)

    def forward(self, views: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        check_views(views)
        return {view: self.view_output(view, views[view]) for view in VIEWS}


class SingleImageBreastModel(nn.Module):
    """forward(x) -> (N, 2, 2) log-softmax; rows benign, malignant; column 1 = positive.

    The published forward keeps only the first two batch items (harmless at batch 1); this one
    returns every item.
    """

    def __init__(self, in_channels: int):
        super().__init__()
        self.in_channels = in_channels
        self.view_resnet = ResNet22(in_channels)
        self.fc1 = nn.Linear(FEATURE_CHANNELS, FEATURE_CHANNELS)
        self.output_layer = OutputLayer(FEATURE_CHANNELS, len(SINGLE_IMAGE_ROWS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = add_training_noise(x)
        return self.output_layer(F.relu(self.fc1(self.view_resnet.pooled(x))))


def single_image_probabilities(log_probs: torch.Tensor) -> torch.Tensor:
    """(N, 2) positive probabilities (benign, malignant)."""
    return log_probs[..., 1].exp()


def single_image_state_dict(imagewise_state: Mapping[str, torch.Tensor], view: str) -> dict[str, torch.Tensor]:
    """State dict of `SingleImageBreastModel` for `view`, taken from an image-wise (ModeImage) one."""
    trunk_prefix = f"four_view_resnet.{view_angle(view).lower()}."
    suffix = VIEW_SUFFIXES[view]
    state: dict[str, torch.Tensor] = {}
    for key, value in imagewise_state.items():
        if key.startswith(trunk_prefix):
            state["view_resnet." + key[len(trunk_prefix):]] = value
    if not state:
        raise ValueError(f"image-wise state dict has no trunk keys under {trunk_prefix!r}")
    rows = 2 * len(SINGLE_IMAGE_ROWS)
    try:
        state["fc1.weight"] = imagewise_state[f"fc1_{suffix}.weight"]
        state["fc1.bias"] = imagewise_state[f"fc1_{suffix}.bias"]
        out_weight = imagewise_state[f"output_layer_{suffix}.fc_layer.weight"]
        out_bias = imagewise_state[f"output_layer_{suffix}.fc_layer.bias"]
    except KeyError as error:
        raise ValueError(f"image-wise state dict lacks {error.args[0]!r} needed for view {view}") from None
    if out_weight.shape[0] < rows or out_bias.shape[0] < rows:
        raise ValueError(
            f"output_layer_{suffix} has {out_weight.shape[0]} rows; the single-image model needs at least {rows}"
        )
    # Published rule: the single-image head is the first 4 output units of the image-wise head.
    state["output_layer.fc_layer.weight"] = out_weight[:rows].clone()
    state["output_layer.fc_layer.bias"] = out_bias[:rows].clone()
    return state
