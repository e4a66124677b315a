"""Stage 2: the optimal window centre of a cropped image (MODEL.md s4).

The input is the cropped image mirrored into training orientation, with raw pixel values; the
window is the classifier's input size for the view. CC views search the row with the most
foreground inside the window; MLO views anchor the window on the lowest breast row.
"""
from __future__ import annotations

import numpy as np

from .crop import CropMetadata

# Published classifier input sizes (H, W).
INPUT_SIZES: dict[str, tuple[int, int]] = {"CC": (2677, 1942), "MLO": (2974, 1748)}


def _clipped_span(start: int, size: int, limit: int) -> tuple[int, int]:
    """A [start, start + size) span slid back to 0 when it starts below 0, then clipped to limit."""
    if start < 0:
        start, end = 0, size
    else:
        end = start + size
    return start, min(end, limit)


def cc_center(image: np.ndarray, rightmost_x: int, window: tuple[int, int]) -> tuple[int, int]:
    height, width = image.shape
    win_h, win_w = window
    cx = rightmost_x - win_w // 2 - 1
    if height <= win_h:
        return height // 2, cx

    half_h = win_h // 2
    candidates = np.arange(half_h, height - (win_h - half_h) + 1)
    col_start, col_end = _clipped_span(cx - win_w // 2, win_w, width)
    row_counts = np.count_nonzero(image[:, col_start:col_end] > 0, axis=1)
    prefix = np.concatenate([[0], np.cumsum(row_counts, dtype=np.int64)])
    # Every candidate window lies inside the image vertically, so no sliding is needed there.
    scores = prefix[candidates - half_h + win_h] - prefix[candidates - half_h]
    best = candidates[scores == scores.max()]
    # Ties: nearest to the image centre (x is shared, so only |y - H//2| matters), then smaller y.
    distance = np.abs(best - height // 2)
    return int(best[np.argmin(distance)]), cx


def mlo_center(image: np.ndarray, rightmost_x: int, bottom_y: int, window: tuple[int, int]) -> tuple[int, int]:
    win_h, win_w = window
    filled_rows = np.flatnonzero((image[:, -win_w:] > 0).any(axis=1))
    if filled_rows.size:
        bottom_y = min(bottom_y, int(filled_rows[-1]))
    return bottom_y - win_h // 2 - 1, rightmost_x - win_w // 2 - 1


def best_center(
    image: np.ndarray,
    view_kind: str,
    metadata: CropMetadata,
    window: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """(y, x) window centre for a cropped image in training orientation.

    view_kind is 'CC' or 'MLO'; window defaults to the published input size of that view.
    """
    if view_kind not in INPUT_SIZES:
        raise ValueError(f"view kind must be 'CC' or 'MLO', got {view_kind!r}")
    image = np.asarray(image)
    if image.shape != metadata.cropped_shape:
        raise ValueError(f"image shape {image.shape} does not match the crop metadata {metadata.cropped_shape}")
    window = tuple(window or INPUT_SIZES[view_kind])
    rightmost_x = metadata.rightmost_points[1]
    if view_kind == "CC":
        return cc_center(image, rightmost_x, window)
    return mlo_center(image, rightmost_x, metadata.bottommost_points[0], window)
