"""Where the chest wall is, and whether an image must be mirrored to hang correctly.

Hanging protocol (back to back): right-breast views sit on the viewer's left with the chest wall
on their right edge; left-breast views sit on the viewer's right with the chest wall on their left
edge. An image is stored in whatever orientation the modality chose, so each image gets
`flip_horizontal`: mirror the stored image left-right before display.

Patient Orientation (0020,0020) names the patient direction of the rows (left to right across the
image) and of the columns. Along a row of a correctly hung left breast we move from the chest wall
towards the nipple, i.e. anterior ("A"); for a right breast towards posterior ("P").
"""
from __future__ import annotations

import numpy as np

LEFT = "left"
RIGHT = "right"


def wanted_chest_wall_side(laterality: str) -> str:
    """The edge the chest wall must be on when displayed: left edge for L, right edge for R."""
    return LEFT if laterality == "L" else RIGHT


def chest_wall_side_from_patient_orientation(patient_orientation: list[str] | None) -> str | None:
    """The stored chest-wall edge from the row direction, or None when the tag does not tell."""
    if not patient_orientation:
        return None
    row_direction = str(patient_orientation[0]).upper()
    has_anterior, has_posterior = "A" in row_direction, "P" in row_direction
    if has_anterior == has_posterior:
        return None
    # Moving right along the row goes anterior: the chest wall (posterior) is the left edge.
    return LEFT if has_anterior else RIGHT


def chest_wall_side_from_content(pixels: np.ndarray, invert: bool,
                                 value_range: tuple[int, int] | None = None) -> str | None:
    """The stored chest-wall edge from the image itself: the breast touches the detector edge at
    the chest wall and falls off towards the nipple, so the edge strip holding more tissue wins.

    Returns None when both strips look alike (e.g. a blank image). `value_range` (min, max) saves
    a pass over the pixels when the caller knows it."""
    columns = pixels.shape[1]
    strip = max(1, columns // 32)
    left = float(pixels[:, :strip].mean())
    right = float(pixels[:, columns - strip:].mean())
    if invert:  # MONOCHROME1: tissue is dark, background bright
        left, right = -left, -right
    low, high = value_range if value_range is not None else (pixels.min(), pixels.max())
    spread = float(high) - float(low)
    if spread == 0 or abs(left - right) < 0.01 * spread:
        return None
    return LEFT if left > right else RIGHT


def needs_flip(stored_chest_wall_side: str, laterality: str) -> bool:
    return stored_chest_wall_side != wanted_chest_wall_side(laterality)
