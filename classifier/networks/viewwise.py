"""The view-wise model (`SplitBreastModel`, MODEL.md section 8), in both variants.

Two ResNet-22 trunks: `cc` for L-CC and R-CC, `mlo` for L-MLO and R-MLO. The same trunks are also
registered as `l_cc`, `r_cc`, `l_mlo` and `r_mlo` so that the state dict has the published 794 keys
(the aliases share parameters; `parameters()` yields each tensor once). Each head concatenates the
left and right pooled features (left first) and predicts 4 labels x (negative, positive).
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from .heads import OutputLayer, add_training_noise
from .resnet22 import FEATURE_CHANNELS, ResNet22

VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
LABELS = ("left_benign", "right_benign", "left_malignant", "right_malignant")
TRUNK_PREFIXES = ("cc", "mlo", "l_cc", "l_mlo", "r_cc", "r_mlo")
TRUNK_ALIASES = {"l_cc": "cc", "r_cc": "cc", "l_mlo": "mlo", "r_mlo": "mlo"}


def view_angle(view: str) -> str:
    """'CC' or 'MLO' for a view name such as 'L-CC'."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    return view.split("-", 1)[1]


class FourViewResNet(nn.Module):
    """Holds the two shared trunks under their canonical and alias names."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.cc = ResNet22(in_channels)
        self.mlo = ResNet22(in_channels)
        # Registration order matches the published module, so state_dict() key order does too.
        self.l_cc = self.cc
        self.l_mlo = self.mlo
        self.r_cc = self.cc
        self.r_mlo = self.mlo

    def trunk(self, view: str) -> ResNet22:
        return self.cc if view_angle(view) == "CC" else self.mlo


class ViewWiseModel(nn.Module):
    """forward({"L-CC": x, "R-CC": x, "L-MLO": x, "R-MLO": x}) -> {"CC": logp, "MLO": logp}.

    Each x is (N, C, H, W) float32 with C = `in_channels`; each logp is (N, 4, 2) log-softmax with
    rows left_benign, right_benign, left_malignant, right_malignant and column 1 = positive.
    """

    def __init__(self, in_channels: int):
        super().__init__()
        self.in_channels = in_channels
        self.four_view_resnet = FourViewResNet(in_channels)
        self.fc1_cc = nn.Linear(2 * FEATURE_CHANNELS, 2 * FEATURE_CHANNELS)
        self.fc1_mlo = nn.Linear(2 * FEATURE_CHANNELS, 2 * FEATURE_CHANNELS)
        self.output_layer_cc = OutputLayer(2 * FEATURE_CHANNELS, len(LABELS))
        self.output_layer_mlo = OutputLayer(2 * FEATURE_CHANNELS, len(LABELS))

    def view_features(self, view: str, x: torch.Tensor) -> torch.Tensor:
        """(N, 256) pooled trunk features of one view; lets callers run views one at a time."""
        if self.training:
            x = add_training_noise(x)
        return self.four_view_resnet.trunk(view).pooled(x)

    def heads(self, features: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Both heads from the pooled features of the four views."""
        check_views(features)
        cc = torch.cat([features["L-CC"], features["R-CC"]], dim=1)
        mlo = torch.cat([features["L-MLO"], features["R-MLO"]], dim=1)
        return {
            "CC": self.output_layer_cc(F.relu(self.fc1_cc(cc))),
            "MLO": self.output_layer_mlo(F.relu(self.fc1_mlo(mlo))),
        }

    def forward(self, views: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        check_views(views)
        # One view at a time: batching the left and right views through their shared trunk was
        # measured slower on the 2-core CPU (0.85 -> 1.17 s per exam) and doubles peak memory.
        return self.heads({view: self.view_features(view, views[view]) for view in VIEWS})


def viewwise_probabilities(outputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """(N, 4) positive probabilities averaged over the CC and MLO heads, in probability space."""
    return (outputs["CC"][..., 1].exp() + outputs["MLO"][..., 1].exp()) / 2


def check_views(views: Mapping[str, object]) -> None:
    """Raise ValueError unless `views` has exactly the four canonical views."""
    missing = [view for view in VIEWS if view not in views]
    extra = [view for view in views if view not in VIEWS]
    if missing or extra:
        raise ValueError(
            f"expected exactly the views {', '.join(VIEWS)}; missing {missing or 'none'}, unexpected {extra or 'none'}"
        )
