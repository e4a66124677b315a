"""Synthetic exams that follow the ingest data contract exactly (header JSON, gzip'd byte planes of the
stored values, 8-bit preview), so the viewer can be tested without Django or ingest.

Every image keeps its breast against stored column 0; right-breast views carry
flip_horizontal=True, so after the display flip their chest wall must be on the screen's right.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from readerstudy.exams.derivatives import pixel_planes_gzip

VIEWS = ("R-CC", "L-CC", "R-MLO", "L-MLO")


def voi_linear(x, center, width):
    """DICOM PS3.3 C.11.2.1.2.1 on [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    c, w = center - 0.5, width - 1.0
    y = (x - c) / w + 0.5 if w > 0 else np.zeros_like(x)
    return np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 1.0, y))


def voi_linear_exact(x, center, width):
    x = np.asarray(x, dtype=np.float64)
    y = (x - center) / width + 0.5
    return np.where(x <= center - width / 2, 0.0, np.where(x > center + width / 2, 1.0, y))


def voi_sigmoid(x, center, width):
    return 1.0 / (1.0 + np.exp(-4.0 * (np.asarray(x, dtype=np.float64) - center) / width))


def display_level(stored, header, center=None, width=None, function=None, use_lut=False, manual_invert=False):
    """255 * the VOI output for stored values under a window: the viewer must show this rounded
    to the nearest integer (either neighbour when it lies on .5, float32 being what it is)."""
    x = np.asarray(stored, dtype=np.float64) * header["rescale_slope"] + header["rescale_intercept"]
    if use_lut:
        lut = header["voi_lut"]
        index = np.clip(np.floor(x - lut["first_mapped"]), 0, len(lut["data"]) - 1).astype(int)
        y = np.asarray(lut["data"], dtype=np.float64)[index] / (2 ** lut["bits"] - 1)
    else:
        function = function or header["voi_lut_function"]
        y = {"LINEAR": voi_linear, "LINEAR_EXACT": voi_linear_exact, "SIGMOID": voi_sigmoid}[function](x, center, width)
    if bool(header["invert"]) != bool(manual_invert):
        y = 1.0 - y
    return y * 255.0


def expected_grey(stored, header, *args, **kwargs):
    """The 8-bit grey level for stored values under a window (ties rounded up)."""
    return np.floor(display_level(stored, header, *args, **kwargs) + 0.5).astype(np.int64)


def breast_phantom(rows: int, columns: int, seed: int, lesion: bool = False) -> np.ndarray:
    """A 12-bit breast-like image: a half ellipse of tissue on stored column 0 (the chest wall),
    fibroglandular texture, a skin line, scattered calcifications and optionally a dense mass."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
    cy, ry, rx = rows * 0.5, rows * 0.46, columns * 0.78
    r = np.sqrt(((yy - cy) / ry) ** 2 + (xx / rx) ** 2)
    inside = r < 1.0
    # Smooth texture: low-resolution noise upsampled bicubically.
    coarse = rng.standard_normal((max(4, rows // 96), max(4, columns // 96))).astype(np.float32)
    texture = np.asarray(Image.fromarray(coarse, mode="F").resize((columns, rows), Image.BICUBIC))
    fine = rng.standard_normal((max(4, rows // 16), max(4, columns // 16))).astype(np.float32)
    texture = texture + 0.35 * np.asarray(Image.fromarray(fine, mode="F").resize((columns, rows), Image.BILINEAR))
    thickness = np.sqrt(np.clip(1.0 - r ** 2, 0.0, 1.0))
    density = 1700 + 900 * thickness + 260 * texture * thickness
    density += 500 * np.exp(-((xx / (columns * 0.12)) ** 2))  # pectoral / chest-wall brightness
    if lesion:
        my, mx, mr = rows * rng.uniform(0.35, 0.65), columns * rng.uniform(0.25, 0.5), rows * 0.03
        density += 700 * np.exp(-(((yy - my) ** 2 + (xx - mx) ** 2) / (2 * mr ** 2)))
    image = np.where(inside, density, 60 + 25 * rng.standard_normal((rows, columns)))
    for _ in range(12):
        y, x = rng.integers(rows // 5, rows * 4 // 5), rng.integers(columns // 10, columns // 2)
        image[max(0, y - 2):y + 2, max(0, x - 2):x + 2] = 3900
    image += 12 * rng.standard_normal((rows, columns))
    return np.clip(image, 0, 4095).astype(np.uint16)


def preview_png(pixels: np.ndarray, header: dict) -> bytes:
    """8-bit preview at most 1024 rows, windowed with the first window, MONOCHROME1 inverted."""
    factor = max(1, math.ceil(pixels.shape[0] / 1024))
    reduced = pixels[::factor, ::factor]
    w = header["windows"][0]
    grey = expected_grey(reduced, header, w["center"], w["width"])
    buffer = io.BytesIO()
    Image.fromarray(grey.astype(np.uint8), mode="L").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


@dataclass
class SyntheticImage:
    id: int
    view: str
    pixels: np.ndarray
    header: dict
    _gzip: bytes | None = field(default=None, repr=False)
    _preview: bytes | None = field(default=None, repr=False)

    @property
    def gzip_pixels(self) -> bytes:
        if self._gzip is None:
            self._gzip = pixel_planes_gzip(self.pixels)
        return self._gzip

    @property
    def preview(self) -> bytes:
        if self._preview is None:
            self._preview = preview_png(self.pixels, self.header)
        return self._preview


def make_header(pixels: np.ndarray, view: str, **overrides) -> dict:
    header = {
        "rows": int(pixels.shape[0]),
        "columns": int(pixels.shape[1]),
        "bits_stored": 12,
        "photometric": "MONOCHROME2",
        "invert": False,
        "rescale_slope": 1.0,
        "rescale_intercept": 0.0,
        "windows": [{"center": 2200.0, "width": 2400.0, "explanation": "Standard"},
                    {"center": 2600.0, "width": 1200.0, "explanation": "Dense"}],
        "voi_lut_function": "LINEAR",
        "voi_lut": None,
        "pixel_spacing": [0.07, 0.07],
        "flip_horizontal": view.startswith("R"),
        "laterality": view[0],
        "view": view,
        "min": int(pixels.min()),
        "max": int(pixels.max()),
    }
    header.update(overrides)
    return header


@dataclass
class SyntheticExam:
    id: int
    label: str
    images: list[SyntheticImage]


def phantom_exam(exam_id: int, rows: int, columns: int, seed: int, first_image_id: int) -> SyntheticExam:
    images = []
    for i, view in enumerate(VIEWS):
        pixels = breast_phantom(rows, columns, seed * 10 + i, lesion=(seed % 3 == 0 and view.startswith("L")))
        images.append(SyntheticImage(first_image_id + i, view, pixels, make_header(pixels, view)))
    return SyntheticExam(exam_id, f"PHANTOM-{exam_id:03d}", images)


def ramp_exam(exam_id: int, first_image_id: int, rows: int = 400, columns: int = 320, **header_overrides) -> SyntheticExam:
    """Four images whose stored values sweep 0..4095 in a known pattern, for exact read-back."""
    yy, xx = np.mgrid[0:rows, 0:columns]
    images = []
    for i, view in enumerate(VIEWS):
        pixels = ((yy * 61 + xx * 13 + i * 7) % 4096).astype(np.uint16)
        images.append(SyntheticImage(first_image_id + i, view, pixels, make_header(pixels, view, **header_overrides)))
    return SyntheticExam(exam_id, f"RAMP-{exam_id:03d}", images)
