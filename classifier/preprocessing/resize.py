"""Bicubic resizing numerically equivalent to OpenCV `cv2.resize(..., interpolation=INTER_CUBIC)`
on float32 data (OpenCV itself is not a dependency).

The published pipeline resizes every augmented window with OpenCV, so the same arithmetic is
reproduced here:
- output pixel d samples source coordinate (d + 0.5) * scale - 0.5 (half-pixel centres), with
  scale = 1 / (dst / src) in double precision and the coordinate then rounded to float32;
- Keys cubic convolution with a = -0.75 over the 4 taps floor(f) - 1 .. floor(f) + 2, weights in
  float32, the last weight being 1 minus the other three;
- taps outside the image repeat the edge pixel (BORDER_REPLICATE), with the weights unchanged;
- a horizontal pass first, then a vertical pass, both accumulated in float32 in tap order.
"""
from __future__ import annotations

import numpy as np

_A = np.float32(-0.75)


def cubic_weights(frac: np.ndarray) -> np.ndarray:
    """(n, 4) float32 tap weights for fractional offsets in [0, 1), as OpenCV computes them."""
    x = np.asarray(frac, dtype=np.float32)
    one = np.float32(1)
    a = _A
    x1 = x + one
    w0 = ((a * x1 - np.float32(5) * a) * x1 + np.float32(8) * a) * x1 - np.float32(4) * a
    w1 = ((a + np.float32(2)) * x - (a + np.float32(3))) * x * x + one
    y = one - x
    w2 = ((a + np.float32(2)) * y - (a + np.float32(3))) * y * y + one
    w3 = one - w0 - w1 - w2
    return np.stack([w0, w1, w2, w3], axis=1).astype(np.float32)


def cubic_taps(src_size: int, dst_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Source indices (dst_size, 4), clamped to the image, and their float32 weights."""
    if src_size < 1 or dst_size < 1:
        raise ValueError(f"sizes must be positive, got {src_size} -> {dst_size}")
    scale = 1.0 / (dst_size / src_size)
    coord = ((np.arange(dst_size, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    start = np.floor(coord)
    frac = coord - start
    index = start.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]
    return np.clip(index, 0, src_size - 1), cubic_weights(frac)


def _weighted_sum(image: np.ndarray, index: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """sum_k weights[:, k] * image gathered at index[:, k] along axis, in tap order (float32)."""
    shape = [1] * image.ndim
    shape[axis] = -1
    out = None
    for k in range(4):
        term = np.take(image, index[:, k], axis=axis) * weights[:, k].reshape(shape)
        out = term if out is None else np.add(out, term, out=out)
    return out


def resize_cubic(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W) or channels-first (C, H, W) float32 array to size = (height, width),
    like OpenCV INTER_CUBIC. All channels are resized jointly with the same taps.

    Returns float32. The channels-first layout keeps both gathers contiguous (about twice as
    fast as (H, W, C) here).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (C, H, W) array, got shape {image.shape}")
    out_h, out_w = (int(s) for s in size)
    src_h, src_w = image.shape[-2:]
    if (src_h, src_w) == (out_h, out_w):
        return image.copy()
    col_index, col_weights = cubic_taps(src_w, out_w)
    horizontal = _weighted_sum(image, col_index, col_weights, axis=image.ndim - 1)
    row_index, row_weights = cubic_taps(src_h, out_h)
    return _weighted_sum(horizontal, row_index, row_weights, axis=image.ndim - 2)
