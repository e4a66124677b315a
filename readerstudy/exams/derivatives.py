"""Display derivatives made at import (no Django here). The viewer reads exactly this contract:

- pixels: the stored values (before rescale), rows x columns, row-major, in the stored
  orientation, as two byte planes: first the low byte of every value, then the high byte of
  every value (value = low + 256 * high), gzip-compressed and served with Content-Encoding: gzip
  so that the browser inflates natively; the viewer interleaves the planes back into uint16.
  Splitting the bytes (HDF5's and Blosc's "shuffle" filter) makes the high plane of 10- to
  12-bit data nearly constant: deflate then runs twice as fast and the file is a fifth smaller
  than plain little-endian uint16 (4096 x 3328 12-bit phantom: 27 MB -> 7.2 MB instead of 9.0;
  NYU 16-bit PNGs: 4 % smaller);
- header: JSON, see `header()`; `flip_horizontal` tells the viewer to mirror the image;
- preview: 8-bit greyscale PNG at most 1024 px tall, same orientation as the pixels, windowed with
  the first window pair (else the VOI LUT, else min/max) and inverted for MONOCHROME1.

Speed matters (benchmarks/ingest.py): the planes are compressed at gzip level 1 with ISA-L in parallel chunks, and the preview is reduced by block averaging before the 8-bit look-up table is
applied.
"""
from __future__ import annotations

import io
import math
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
from isal import isal_zlib  # deflate streams like zlib's, about five times faster at level 1
from PIL import Image

from .dicom_reader import MammoImage

PREVIEW_MAX_HEIGHT = 1024
GZIP_LEVEL = 1
CHUNK_BYTES = 2 << 20  # per plane chunk: 4 MiB of pixels
_DEFLATE_POOL = ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2)),
                                   thread_name_prefix="deflate")


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


def write_pixel_planes(pixels: np.ndarray, out: BinaryIO, level: int = GZIP_LEVEL) -> int:
    """Write the pixel derivative (module docstring) as one gzip member into `out`; returns the
    bytes written.

    Deflate is the costliest step of an import, so the planes are cut into chunks that worker
    threads split out of the pixels and compress in parallel (ISA-L releases the GIL), pigz-style:
    each chunk is an independent raw deflate stream ended by a sync flush (byte-aligned, not
    final), the last one by a finish; their concatenation is one valid deflate stream, and the
    chunks' CRCs combine into the member's. Splitting chunk by chunk keeps the working memory
    small and warm instead of allocating two whole planes."""
    values = np.ascontiguousarray(pixels, dtype=np.uint16).reshape(-1)
    count = len(values)
    pieces = [(plane, start) for plane in (0, 1) for start in range(0, count, CHUNK_BYTES)] or [(0, 0)]
    last = len(pieces) - 1

    def deflate(index: int) -> tuple[bytes, int, int]:
        plane, start = pieces[index]
        part = values[start:start + CHUNK_BYTES]
        chunk = (part >> 8 if plane else part).astype(np.uint8)  # vectorised; a strided byte copy is 3x slower
        compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
        finish = isal_zlib.Z_FINISH if index == last else isal_zlib.Z_SYNC_FLUSH
        return compressor.compress(chunk) + compressor.flush(finish), isal_zlib.crc32(chunk), len(chunk)

    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, no mtime, OS unknown
    out.write(header)
    written, crc = len(header), 0
    for block, chunk_crc, length in _DEFLATE_POOL.map(deflate, range(len(pieces))):
        out.write(block)
        written += len(block)
        crc = isal_zlib.crc32_combine(crc, chunk_crc, length)
    out.write(struct.pack("<II", crc & 0xFFFFFFFF, (2 * count) & 0xFFFFFFFF))
    return written + 8


def pixel_planes_gzip(pixels: np.ndarray, level: int = GZIP_LEVEL) -> bytes:
    buffer = io.BytesIO()
    write_pixel_planes(pixels, buffer, level)
    return buffer.getvalue()


def decode_pixel_planes(data: bytes, rows: int, columns: int) -> np.ndarray:
    """The stored values (rows x columns uint16) from a pixel derivative file's bytes. Raises
    ValueError when the data are not gzip or hold the wrong number of bytes."""
    try:
        raw = isal_zlib.decompress(data, 31)
    except (isal_zlib.error, OSError, EOFError) as error:
        raise ValueError(f"the pixel data cannot be decompressed ({error})") from None
    count = rows * columns
    if len(raw) != 2 * count:
        raise ValueError(f"the pixel data hold {len(raw)} bytes, {rows} x {columns} pixels need {2 * count}")
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(2, count)
    pixels = np.empty((count, 2), dtype=np.uint8)
    pixels[:, 0], pixels[:, 1] = planes[0], planes[1]
    return pixels.view("<u2").reshape(rows, columns)


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
    compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 15)
    data = compressor.compress(filtered.tobytes()) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", isal_zlib.crc32(kind + payload))

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
