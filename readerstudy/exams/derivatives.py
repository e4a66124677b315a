"""Display derivatives made at import (no Django here). The viewer reads exactly this contract:

- pixels: raw little-endian uint16, rows x columns, row-major, the stored values (before rescale)
  in the stored orientation, gzip-compressed (served with Content-Encoding: gzip, so the browser
  inflates natively);
- header: JSON, see `header()`; `flip_horizontal` tells the viewer to mirror the image;
- preview: 8-bit greyscale PNG at most 1024 px tall, same orientation as the pixels, windowed with
  the first window pair (else the VOI LUT, else min/max) and inverted for MONOCHROME1.

Speed matters (benchmarks/ingest.py): the pixels are compressed at gzip level 1 with ISA-L (zlib
when it is missing) straight from the array's memory (no copy on little-endian machines), in
parallel chunks, and the preview is reduced by block averaging before the 8-bit look-up table is
applied.
"""
from __future__ import annotations

import io
import math
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
from PIL import Image

from .dicom_reader import MammoImage

try:  # ISA-L writes the same deflate streams as zlib about five times faster at level 1
    from isal import isal_zlib as deflate_module
except ImportError:  # pragma: no cover - requirements.txt installs it; zlib is the fallback
    deflate_module = zlib

PREVIEW_MAX_HEIGHT = 1024
GZIP_LEVEL = 1
CHUNK_BYTES = 4 << 20
_DEFLATE_POOL = ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2)),
                                   thread_name_prefix="deflate")


def pixel_range(pixels: np.ndarray) -> tuple[int, int]:
    return int(pixels.min()), int(pixels.max())


def header(image: MammoImage, value_range: tuple[int, int]) -> dict:
    return {
        "rows": image.rows,
        "columns": image.columns,
        "bits_stored": image.bits_stored,
        "photometric": image.photometric,
        "invert": image.invert,
        "rescale_slope": image.rescale_slope,
        "rescale_intercept": image.rescale_intercept,
        "windows": [{"center": w.center, "width": w.width, "explanation": w.explanation}
                    for w in image.windows],
        "voi_lut_function": image.voi_lut_function,
        "voi_lut": (None if image.voi_lut is None else
                    {"first_mapped": image.voi_lut.first_mapped, "bits": image.voi_lut.bits,
                     "data": list(image.voi_lut.data)}),
        "pixel_spacing": list(image.pixel_spacing) if image.pixel_spacing else None,
        "flip_horizontal": image.flip_horizontal,
        "laterality": image.laterality,
        "view": image.view,
        "min": value_range[0],
        "max": value_range[1],
    }


def write_gzip_pixels(pixels: np.ndarray, out: BinaryIO, level: int = GZIP_LEVEL) -> int:
    """Write the pixels as one gzip member into `out`; returns the bytes written.

    Deflate is the slowest step of an import, so chunks are compressed in parallel threads (zlib
    releases the GIL), pigz-style: each chunk is an independent raw deflate stream ended by a
    sync flush (byte-aligned, not final), the last one by a finish; their concatenation is one
    valid deflate stream. Back-references never cross a chunk boundary, which costs a fraction of
    a per cent of compression at 4 MiB chunks."""
    data = np.ascontiguousarray(pixels, dtype="<u2")
    view = memoryview(data).cast("B")
    starts = list(range(0, len(view), CHUNK_BYTES)) or [0]
    last = len(starts) - 1

    def deflate(index: int) -> bytes:
        compressor = deflate_module.compressobj(level, deflate_module.DEFLATED, -15)
        chunk = compressor.compress(view[starts[index]:starts[index] + CHUNK_BYTES])
        finish = deflate_module.Z_FINISH if index == last else deflate_module.Z_SYNC_FLUSH
        return chunk + compressor.flush(finish)

    crc = _DEFLATE_POOL.submit(deflate_module.crc32, view) if len(starts) > 1 else None
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, no mtime, OS unknown
    out.write(header)
    written = len(header)
    for block in _DEFLATE_POOL.map(deflate, range(len(starts))) if len(starts) > 1 else [deflate(0)]:
        out.write(block)
        written += len(block)
    checksum = crc.result() if crc is not None else deflate_module.crc32(view)
    out.write(struct.pack("<II", checksum & 0xFFFFFFFF, len(view) & 0xFFFFFFFF))
    return written + 8


def gzip_pixels(pixels: np.ndarray, level: int = GZIP_LEVEL) -> bytes:
    buffer = io.BytesIO()
    write_gzip_pixels(pixels, buffer, level)
    return buffer.getvalue()


def display_lut(image: MammoImage, value_range: tuple[int, int]) -> np.ndarray:
    """uint8 grey level for every stored value 0..max: modality rescale, then the first window
    (or the VOI LUT, or min/max), then inversion for MONOCHROME1."""
    low, high = value_range
    stored = np.arange(high + 1, dtype=np.float64)
    values = stored * image.rescale_slope + image.rescale_intercept
    if image.windows:
        window = image.windows[0]
        out = apply_window(values, window.center, window.width, image.voi_lut_function)
    elif image.voi_lut is not None and image.voi_lut.data:
        lut = np.asarray(image.voi_lut.data, dtype=np.float64)
        index = np.clip(np.round(values - image.voi_lut.first_mapped), 0, len(lut) - 1).astype(np.int64)
        out = lut[index] / float((1 << image.voi_lut.bits) - 1)
    else:
        lo = low * image.rescale_slope + image.rescale_intercept
        hi = high * image.rescale_slope + image.rescale_intercept
        out = np.clip((values - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(values)
    if image.invert:
        out = 1.0 - out
    return np.round(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)


def apply_window(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """PS3.3 C.11.2.1.2 VOI LUT functions, output on [0, 1]."""
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT":
        return np.clip((values - center) / width + 0.5, 0.0, 1.0)
    if width <= 1:  # LINEAR with width 1 is a threshold
        return (values > center - 0.5).astype(np.float64)
    return np.clip((values - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def preview_png(image: MammoImage, value_range: tuple[int, int],
                max_height: int = PREVIEW_MAX_HEIGHT) -> bytes:
    reduced = reduce_for_preview(image.pixels, max_height, value_range[1])
    return encode_grey_png(display_lut(image, value_range)[reduced])


def encode_grey_png(grey: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG with the Sub filter on every row, deflated like the pixels: a few
    milliseconds where Pillow's encoder takes a hundred on a busy machine."""
    rows, columns = grey.shape
    filtered = np.empty((rows, columns + 1), dtype=np.uint8)
    filtered[:, 0] = 1  # filter type Sub: each byte minus its left neighbour, modulo 256
    filtered[:, 1] = grey[:, 0]
    np.subtract(grey[:, 1:], grey[:, :-1], out=filtered[:, 2:], dtype=np.uint8, casting="unsafe")
    compressor = deflate_module.compressobj(GZIP_LEVEL, deflate_module.DEFLATED, 15)
    data = compressor.compress(filtered.tobytes()) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", columns, rows, 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def reduce_for_preview(pixels: np.ndarray, max_height: int, max_value: int = 65535) -> np.ndarray:
    """Shrink by an integer factor with block means (strided sums: no full-size temporary beyond
    one row-reduced array), then resample to at most max_height rows if still taller. Sums stay
    in 16 bits when they cannot overflow (12-bit data, factor 4), halving the memory traffic."""
    rows, columns = pixels.shape
    factor = max(1, math.ceil(rows / max_height))
    if factor > 1:
        out_rows, out_columns = rows // factor, columns // factor
        trimmed = pixels[:out_rows * factor, :out_columns * factor]
        accumulator = np.uint16 if max_value * factor * factor <= 65535 else np.uint32
        summed = trimmed[0::factor].astype(accumulator)
        for offset in range(1, factor):
            summed += trimmed[offset::factor]
        block = summed[:, 0::factor].copy()
        for offset in range(1, factor):
            block += summed[:, offset::factor]
        reduced = (block // (factor * factor)).astype(np.uint16)
    else:
        reduced = np.asarray(pixels, dtype=np.uint16)
    if reduced.shape[0] > max_height:
        width = max(1, round(reduced.shape[1] * max_height / reduced.shape[0]))
        image = Image.fromarray(np.ascontiguousarray(reduced)).resize((width, max_height), Image.NEAREST)
        reduced = np.asarray(image, dtype=np.uint16)
    return reduced
