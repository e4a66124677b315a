"""Reading and writing 16-bit greyscale PNGs, and the mirroring into training orientation.

Mammograms are stored as 16-bit PNGs (12-bit data rescaled to 16 bits). They must be read as the
exact uint16 values: any conversion through 8 bits or floats on the way in would change the crop
masks and every downstream number.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
FLIP_VALUES = ("NO", "YES")

# Pillow modes that hold 16-bit greyscale PNG data exactly ("I" is what older Pillow returned).
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def read_png_uint16(path: str | Path) -> np.ndarray:
    """Read a 16-bit greyscale PNG as an (H, W) uint16 array with the stored values unchanged."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with Image.open(path) as image:
        if image.format != "PNG":
            raise ValueError(f"{path}: expected a PNG file, got {image.format}")
        if image.mode not in _SIXTEEN_BIT_MODES:
            raise ValueError(f"{path}: expected a 16-bit greyscale PNG, got Pillow mode {image.mode!r}")
        array = np.asarray(image)
    if array.dtype != np.uint16:
        if array.min() < 0 or array.max() > np.iinfo(np.uint16).max:
            raise ValueError(f"{path}: pixel values outside the 16-bit range")
        array = array.astype(np.uint16)
    return np.ascontiguousarray(array)


def write_png_uint16(path: str | Path, array: np.ndarray) -> None:
    """Write an (H, W) uint16 array as a 16-bit greyscale PNG (lossless)."""
    array = np.asarray(array)
    if array.dtype != np.uint16 or array.ndim != 2:
        raise ValueError(f"expected a 2-D uint16 array, got {array.dtype} with shape {array.shape}")
    Image.fromarray(np.ascontiguousarray(array)).save(Path(path), format="PNG")


def check_view(view: str) -> str:
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    return view


def check_flip(horizontal_flip: str) -> str:
    if horizontal_flip not in FLIP_VALUES:
        raise ValueError(f"horizontal_flip must be 'NO' or 'YES', got {horizontal_flip!r}")
    return horizontal_flip


def view_kind(view: str) -> str:
    """'CC' or 'MLO' for a full view name such as 'L-MLO'."""
    return check_view(view).split("-")[1]


def needs_mirror(view: str, horizontal_flip: str) -> bool:
    """Whether the stored image must be mirrored left-right to face right (training orientation).

    With horizontal_flip 'NO', L views are stored facing right and R views facing left; 'YES'
    swaps the two.
    """
    side = check_view(view)[0]
    return (side == "R") == (check_flip(horizontal_flip) == "NO")


def to_training_orientation(array: np.ndarray, view: str, horizontal_flip: str) -> np.ndarray:
    """Mirror an (H, W, ...) array so that the breast faces right. The same call undoes itself."""
    return array[:, ::-1] if needs_mirror(view, horizontal_flip) else array
