"""Stage 1: crop a stored mammogram to the breast and record the crop metadata (MODEL.md s3).

All coordinates follow the published conventions exactly, including two off-by-one quirks that
the optimal-centre stage depends on: in mode "left" the mirrored x of `bottommost_points` and
`rightmost_points` is reported as (width - index), one more than a true mirror index.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .io import check_flip, check_view

DEFAULT_ITERATIONS = 100
DEFAULT_BUFFER = 50


class CropError(ValueError):
    """The image could not be cropped (for example: no foreground left after erosion)."""


@dataclass(frozen=True)
class CropMetadata:
    """The published per-image crop metadata.

    window_location: (top, bottom, left, right) in the stored image, bottom/right exclusive.
    rightmost_points: ((y_first, y_last), x), relative to the crop, in training orientation.
    bottommost_points: (y, (x_first, x_last)), relative to the crop, in training orientation.
    distance_from_starting_side: 0 unless horizontal_flip is probably wrong.
    """

    window_location: tuple[int, int, int, int]
    rightmost_points: tuple[tuple[int, int], int]
    bottommost_points: tuple[int, tuple[int, int]]
    distance_from_starting_side: int

    @property
    def cropped_shape(self) -> tuple[int, int]:
        top, bottom, left, right = self.window_location
        return bottom - top, right - left

    def as_dict(self) -> dict:
        (y_first, y_last), x = self.rightmost_points
        y, (x_first, x_last) = self.bottommost_points
        return {
            "window_location": list(self.window_location),
            "rightmost_points": [[y_first, y_last], x],
            "bottommost_points": [y, [x_first, x_last]],
            "distance_from_starting_side": self.distance_from_starting_side,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CropMetadata:
        try:
            (y_first, y_last), x = data["rightmost_points"]
            y, (x_first, x_last) = data["bottommost_points"]
            top, bottom, left, right = data["window_location"]
            distance = data.get("distance_from_starting_side", 0)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed crop metadata {data!r}: {error}") from None
        return cls(
            window_location=(int(top), int(bottom), int(left), int(right)),
            rightmost_points=((int(y_first), int(y_last)), int(x)),
            bottommost_points=(int(y), (int(x_first), int(x_last))),
            distance_from_starting_side=int(distance),
        )


def facing_mode(view: str, horizontal_flip: str) -> str:
    """The direction ('right' or 'left') the breast faces in the stored file."""
    side = check_view(view)[0]
    faces_right = (side == "L") == (check_flip(horizontal_flip) == "NO")
    return "right" if faces_right else "left"


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(mask)
    if count == 0:
        raise CropError("no foreground left after erosion")
    sizes = np.bincount(labels.ravel())[1:]
    # argmax returns the first maximum: on a tie the lowest label wins, as published.
    return labels == (int(np.argmax(sizes)) + 1)


def crop_mammogram(
    image: np.ndarray,
    view: str,
    horizontal_flip: str,
    *,
    iterations: int = DEFAULT_ITERATIONS,
    buffer: int = DEFAULT_BUFFER,
) -> tuple[np.ndarray, CropMetadata]:
    """Crop a stored (unflipped) 2-D image to the breast.

    Returns the cropped image (a copy, stored orientation, same dtype) and its metadata.
    Raises CropError when the image cannot be cropped.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise CropError(f"expected a 2-D greyscale image, got shape {image.shape}")
    mode = facing_mode(view, horizontal_flip)
    height, width = image.shape

    eroded = ndimage.binary_erosion(image > 0, iterations=iterations)
    mask = ndimage.binary_dilation(_largest_component(eroded), iterations=iterations)

    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    left, right = int(cols[0]), int(cols[-1]) + 1

    bottom_row = bottom - 1
    bottom_cols = np.flatnonzero(mask[bottom_row])

    top -= min(top, buffer)
    bottom += min(height - bottom, buffer)

    if mode == "right":
        distance = left
        right += min(width - right, buffer)
    else:
        distance = width - right
        left -= min(left, buffer)

    crop_width = right - left
    bottom_x = bottom_cols - left
    if mode == "left":
        bottom_x = np.sort(right - bottom_cols)
    bottommost = (bottom_row - top, (int(bottom_x[0]), int(bottom_x[-1])))

    window_mask = mask[top:bottom, left:right]
    skipped = (bottom - top) // 3
    lower = window_mask[skipped:]
    filled_cols = np.flatnonzero(lower.any(axis=0))
    if filled_cols.size == 0:
        raise CropError("no foreground in the lower two thirds of the crop")
    col = int(filled_cols[-1] if mode == "right" else filled_cols[0])
    col_rows = np.flatnonzero(lower[:, col])
    x = col if mode == "right" else crop_width - col
    rightmost = ((int(col_rows[0]) + skipped, int(col_rows[-1]) + skipped), x)

    metadata = CropMetadata(
        window_location=(top, bottom, left, right),
        rightmost_points=rightmost,
        bottommost_points=bottommost,
        distance_from_starting_side=int(distance),
    )
    return image[top:bottom, left:right].copy(), metadata
