"""Stage 3: benign and malignant heatmaps from the DenseNet-121 patch classifier (MODEL.md s5).

The cropped image, in training orientation, is standardised as a whole (float64, its own mean and
population std floored at 1e-5) and covered by 256 x 256 patches at a nominal stride of 70. Each
patch goes through the patch classifier on all 3 input channels; every heatmap pixel is the mean
softmax probability (class 1 benign, class 0 malignant) over the patches that cover it.

Two modes:

- ``"exact"`` (default) classifies every patch on its own, exactly as published: the numbers
  match the published heatmaps to float32 rounding.
- ``"fast"`` runs the DenseNet feature extractor once over the whole standardised crop (fully
  convolutionally) and pools, for each patch of the same grid, the ReLU features over the patch's
  footprint on the 1/32-scale feature map (an area-weighted box average that handles patch
  offsets which are not multiples of 32), then applies the classifier and softmax. It costs about
  one patch-equivalent per 65,536 crop pixels instead of one per patch (about 11 times fewer
  pixels through the network for the C1 crops), but a patch's features now see the surrounding
  breast instead of the zero padding at the patch border, so the values differ. Measured on
  the conformance exam C1 (random-weight patch model, 4 crops, 12.93 M heatmap pixels), fast
  minus exact: benign max abs 0.0381, mean abs 0.0109; malignant max abs 0.1427,
  mean abs 0.0573 (exact values span 0.10-0.22 benign, 0.33-0.62 malignant).
  Use it for previews, never for conformant predictions.

Both modes consume the Python `random` stream identically (the grid is the same).
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .networks.densenet121 import BENIGN, MALIGNANT
from .preprocessing.windows import STD_FLOOR

PATCH_SIZE = 256
PATCH_STRIDE = 70
DEFAULT_PATCH_BATCH = 100
FEATURE_STRIDE = 32  # DenseNet-121 feature map scale
MODES = ("exact", "fast")


def patch_strides(length: int, rand: random.Random, patch: int = PATCH_SIZE, stride: int = PATCH_STRIDE) -> list[int]:
    """Steps between consecutive patch starts along an axis of `length` pixels.

    The first patch starts at 0 and the last ends exactly at the edge. When the nominal stride
    does not fit, every step is shortened evenly and the remainder is spread over steps picked by
    `rand.sample` (the published jitter; the only consumer of the Python random stream).
    """
    if length < patch:
        raise ValueError(f"image side of {length} px is smaller than the {patch} px patch")
    remainder = (length - patch) % stride
    if remainder == 0:
        return [stride] * ((length - patch) // stride)
    n_steps = (length - patch) // stride + 1
    overlap = stride - remainder
    steps = [stride - overlap // n_steps] * n_steps
    for index in rand.sample(range(n_steps), overlap % n_steps):
        steps[index] -= 1
    return steps


@dataclass(frozen=True)
class PatchGrid:
    row_strides: tuple[int, ...]
    col_strides: tuple[int, ...]

    @classmethod
    def for_shape(cls, shape: tuple[int, int], rand: random.Random) -> PatchGrid:
        """Rows first, then columns: the published order of draws."""
        rows = patch_strides(shape[0], rand)
        cols = patch_strides(shape[1], rand)
        return cls(tuple(rows), tuple(cols))

    @property
    def ys(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.row_strides, dtype=np.int64)]).astype(np.int64)

    @property
    def xs(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.col_strides, dtype=np.int64)]).astype(np.int64)

    @property
    def n_patches(self) -> int:
        return (len(self.row_strides) + 1) * (len(self.col_strides) + 1)

    def positions(self) -> np.ndarray:
        """(n, 2) patch top-left corners (y, x), column-position-major as published."""
        xs, ys = np.meshgrid(self.xs, self.ys, indexing="ij")
        return np.stack([ys.ravel(), xs.ravel()], axis=1)


@dataclass
class Heatmaps:
    """Benign and malignant heatmaps (H, W) float32, in the orientation they were computed in.

    grid is the patch grid they were computed on (None for heatmaps read from files); mode is
    "exact", "fast" or "given".
    """

    benign: np.ndarray
    malignant: np.ndarray
    grid: PatchGrid | None
    mode: str = "exact"

    def mirrored(self) -> Heatmaps:
        return Heatmaps(
            np.ascontiguousarray(self.benign[:, ::-1]), np.ascontiguousarray(self.malignant[:, ::-1]), self.grid, self.mode
        )

    def stacked(self) -> np.ndarray:
        """(2, H, W) in the classifier's channel order: benign, malignant."""
        return np.stack([self.benign, self.malignant])


def standardize_crop(image: np.ndarray) -> np.ndarray:
    """Whole-crop standardisation in float64, as the published heatmap stage does."""
    values = np.asarray(image, dtype=np.float64)
    return (values - values.mean()) / max(float(values.std()), STD_FLOOR)


def _module_device(model: torch.nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


@torch.inference_mode()
def classify_patches(
    model: torch.nn.Module,
    image: np.ndarray,
    positions: np.ndarray,
    *,
    batch_size: int = DEFAULT_PATCH_BATCH,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """(n, classes) float32 softmax probabilities of the patches at `positions` of a standardised image."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    device = _module_device(model)
    source = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    outputs = []
    for start in range(0, len(positions), batch_size):
        chunk = positions[start : start + batch_size]
        batch = torch.stack([source[y : y + PATCH_SIZE, x : x + PATCH_SIZE] for y, x in chunk])
        batch = batch.unsqueeze(1).expand(-1, 3, -1, -1).to(device)
        outputs.append(torch.softmax(model(batch).float(), dim=1).cpu())
        if progress is not None:
            progress(len(chunk))
    return torch.cat(outputs).numpy()


def _box_weights(starts: np.ndarray, n_cells: int) -> np.ndarray:
    """(len(starts), n_cells) coverage of each feature cell by the patch footprints, in cells."""
    span = PATCH_SIZE / FEATURE_STRIDE
    lo = starts[:, None] / FEATURE_STRIDE
    cells = np.arange(n_cells)[None, :]
    return np.clip(np.minimum(lo + span, cells + 1) - np.maximum(lo, cells), 0.0, None)


@torch.inference_mode()
def classify_patches_fast(model: torch.nn.Module, image: np.ndarray, grid: PatchGrid) -> np.ndarray:
    """Approximate patch probabilities from one fully convolutional pass (see the module docstring)."""
    device = _module_device(model)
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None].expand(1, 3, -1, -1).to(device)
    if getattr(model, "channels_last", False):
        x = x.contiguous(memory_format=torch.channels_last)
    features = torch.relu(model.features(x))[0].double()
    row_w = torch.from_numpy(_box_weights(grid.ys, features.shape[1])).to(device)
    col_w = torch.from_numpy(_box_weights(grid.xs, features.shape[2])).to(device)
    # Normalise by the covered area so that patches clipped by the feature map stay averages.
    area = row_w.sum(1)[:, None] * col_w.sum(1)[None, :]
    pooled = torch.einsum("yi,cij,xj->xyc", row_w, features, col_w) / area.T[..., None]
    logits = model.classifier(pooled.reshape(-1, pooled.shape[-1]).float())
    return torch.softmax(logits.float(), dim=1).cpu().numpy()


def assemble(shape: tuple[int, int], positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of `values` over the patches covering each pixel, as float32 (float64 accumulation)."""
    total = np.zeros(shape, dtype=np.float64)
    count = np.zeros(shape, dtype=np.float64)
    for (y, x), value in zip(positions, values, strict=False):
        total[y : y + PATCH_SIZE, x : x + PATCH_SIZE] += value
        count[y : y + PATCH_SIZE, x : x + PATCH_SIZE] += 1
    if (count == 0).any():
        raise ValueError("the patch grid does not cover the whole image")
    return (total / count).astype(np.float32)


def compute_heatmaps(
    image: np.ndarray,
    patch_model: torch.nn.Module,
    rand: random.Random,
    *,
    mode: str = "exact",
    batch_size: int = DEFAULT_PATCH_BATCH,
    progress: Callable[[int], None] | None = None,
) -> Heatmaps:
    """Heatmaps of a cropped image given in training orientation (the result is in that orientation).

    `rand` is the Python random stream of the heatmap stage (published: `random.seed(0)` once per
    run, shared by all images in exam order). The network runs under `torch.inference_mode()`.
    `progress`, if given, is called with the number of patches done after each batch.
    """
    if mode not in MODES:
        raise ValueError(f"heatmap mode must be one of {MODES}, got {mode!r}")
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D cropped image, got shape {image.shape}")
    grid = PatchGrid.for_shape(image.shape, rand)
    positions = grid.positions()
    standardized = standardize_crop(image)
    if mode == "exact":
        probabilities = classify_patches(patch_model, standardized, positions, batch_size=batch_size, progress=progress)
    else:
        probabilities = classify_patches_fast(patch_model, standardized, grid)
        if progress is not None:
            progress(len(positions))
    return Heatmaps(
        benign=assemble(image.shape, positions, probabilities[:, BENIGN]),
        malignant=assemble(image.shape, positions, probabilities[:, MALIGNANT]),
        grid=grid,
        mode=mode,
    )


def estimated_patches(shape: tuple[int, int]) -> int:
    """Number of patches the grid puts on an image of this shape (no random numbers consumed)."""
    def count(length: int) -> int:
        return math.ceil((length - PATCH_SIZE) / PATCH_STRIDE) + 1

    return count(shape[0]) * count(shape[1])
