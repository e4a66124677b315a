"""Preprocessing of the published pipeline: reading 16-bit PNGs, cropping to the breast (stage 1),
optimal window centres (stage 2) and the classifier's input windows with their test-time
augmentation, OpenCV-equivalent bicubic resizing and standardisation (stage 4)."""
from .centers import INPUT_SIZES, best_center
from .crop import CropError, CropMetadata, crop_mammogram, facing_mode
from .io import VIEWS, needs_mirror, read_png_uint16, to_training_orientation, view_kind, write_png_uint16
from .resize import resize_cubic
from .windows import WindowNoise, WindowTrace, make_window, plan_window, standardize

__all__ = [
    "INPUT_SIZES",
    "VIEWS",
    "CropError",
    "CropMetadata",
    "WindowNoise",
    "WindowTrace",
    "best_center",
    "crop_mammogram",
    "facing_mode",
    "make_window",
    "needs_mirror",
    "plan_window",
    "read_png_uint16",
    "resize_cubic",
    "standardize",
    "to_training_orientation",
    "view_kind",
    "write_png_uint16",
]
