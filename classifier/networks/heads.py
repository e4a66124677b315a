"""Output layers shared by the view-wise and image-wise models."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class OutputLayer(nn.Module):
    """Linear layer reshaped to (N, rows, 2) and log-softmaxed over the last axis.

    The published layer is a module with one child, `fc_layer`; keeping that nesting keeps the
    state-dict keys `output_layer_*.fc_layer.{weight,bias}`.
    """

    def __init__(self, in_features: int, rows: int):
        super().__init__()
        self.rows = rows
        self.fc_layer = nn.Linear(in_features, rows * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.fc_layer(x).view(x.shape[0], self.rows, 2)
        return F.log_softmax(logits, dim=-1)


def add_training_noise(x: torch.Tensor, std: float = 0.01) -> torch.Tensor:
    """Gaussian input noise that the published models add in training mode only."""
    return x + torch.randn_like(x) * std
