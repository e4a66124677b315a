"""The JSON header of an image's display derivative, built from its database row (the contract
is documented in derivatives.py; the viewer reads exactly these keys)."""
from __future__ import annotations

from .models import Image


def image_header_payload(image: Image) -> dict:
    return {
        "rows": image.rows,
        "columns": image.columns,
        "bits_stored": image.bits_stored,
        "photometric": image.photometric_interpretation,
        "invert": image.photometric_interpretation == "MONOCHROME1",
        "rescale_slope": image.rescale_slope,
        "rescale_intercept": image.rescale_intercept,
        "windows": list(image.windows or []),
        "voi_lut_function": image.voi_lut_function,
        "voi_lut": image.voi_lut,
        "pixel_spacing": image.pixel_spacing,
        "flip_horizontal": image.flip_horizontal,
        "laterality": image.laterality,
        "view": image.view,
        "min": image.pixel_min,
        "max": image.pixel_max,
    }
