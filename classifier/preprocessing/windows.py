"""Stage 4 input windows: padding, test-time augmentation noise, resizing and standardisation
(MODEL.md s6).

The random draws follow the published stream exactly: per view, `uniform(-1, 1, size=2)` for the
position noise (only when augmenting) and then `uniform(-1, 1, size=4)` for the size noise
(always, even when its limit is 0), both from the caller's numpy `RandomState`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .resize import resize_cubic

MAX_CROP_NOISE = (100, 100)
MAX_CROP_SIZE_NOISE = 100
STD_FLOOR = 1e-5


@dataclass(frozen=True)
class WindowNoise:
    """Augmentation limits in pixels: position noise per axis (y, x) and size noise per edge."""

    crop_noise: tuple[int, int] = MAX_CROP_NOISE
    size_noise: int = MAX_CROP_SIZE_NOISE

    @classmethod
    def none(cls) -> WindowNoise:
        return cls((0, 0), 0)

    @property
    def active(self) -> bool:
        return any(self.crop_noise) or self.size_noise > 0


@dataclass(frozen=True)
class WindowTrace:
    """Where the window was cut: canvas shape after zero padding and the (top, bottom, left,
    right) borders on that canvas after the position noise and after the size noise."""

    padded_shape: tuple[int, int]
    borders_after_crop_noise: tuple[int, int, int, int]
    borders_final: tuple[int, int, int, int]

    def as_dict(self) -> dict:
        return {
            "padded_shape": list(self.padded_shape),
            "borders_after_crop_noise": list(self.borders_after_crop_noise),
            "borders_final": list(self.borders_final),
        }


def _round(value: float) -> int:
    return int(np.round(value))  # numpy round-half-even, as published


def _fit(start: int, end: int, size: int) -> tuple[int, int]:
    if start < 0:
        end, start = end - start, 0
    if end > size:
        start, end = start - (end - size), size
    return start, end


def _position_noise(start: int, end: int, size: int, u: float, limit: int) -> tuple[int, int]:
    if start == 0:
        u = abs(u)
    elif end == size:
        u = -abs(u)
    margin = size - end if u >= 0 else start
    shift = _round(min(limit, margin) * u)
    return start + shift, end + shift


def plan_window(
    image_shape: tuple[int, int],
    view_kind: str,
    center: tuple[int, int],
    input_size: tuple[int, int],
    rng: np.random.RandomState,
    noise: WindowNoise,
) -> tuple[int, WindowTrace]:
    """Decide the window for one view and pass, drawing from rng as published.

    Returns (pad_top, trace): the image sits on a zero canvas of trace.padded_shape at row
    pad_top, column 0.
    """
    if view_kind not in ("CC", "MLO"):
        raise ValueError(f"view kind must be 'CC' or 'MLO', got {view_kind!r}")
    height, width = image_shape
    win_h, win_w = input_size
    cy, cx = center
    top, left = cy - win_h // 2, cx - win_w // 2
    bottom, right = top + win_h, left + win_w

    margin_y, margin_x = noise.crop_noise[0] + noise.size_noise, noise.crop_noise[1] + noise.size_noise
    canvas_h, canvas_w, pad_top = height, width, 0
    if view_kind == "CC" and height < win_h + 2 * margin_y:
        total = win_h - height + 2 * margin_y
        pad_top = total // 2
        canvas_h = height + total
        top, bottom = margin_y, margin_y + win_h
    elif view_kind == "MLO" and height < win_h + margin_y:
        canvas_h = win_h + margin_y
        top, bottom = 0, win_h
    if width < win_w + margin_x:
        canvas_w = win_w + margin_x
        left, right = 0, win_w

    top, bottom = _fit(top, bottom, canvas_h)
    left, right = _fit(left, right, canvas_w)

    if noise.active:
        u = rng.uniform(-1, 1, size=2)
        top, bottom = _position_noise(top, bottom, canvas_h, float(u[0]), noise.crop_noise[0])
        left, right = _position_noise(left, right, canvas_w, float(u[1]), noise.crop_noise[1])
    after_crop_noise = (top, bottom, left, right)

    v = rng.uniform(-1, 1, size=4)
    limit = min(noise.size_noise, top, canvas_h - bottom, left, canvas_w - right)
    limit_x = _round(limit * win_w / win_h)
    final = (
        top + _round(limit * v[0]),
        bottom + _round(limit * v[1]),
        left + _round(limit_x * v[2]),
        right + _round(limit_x * v[3]),
    )
    return pad_top, WindowTrace((canvas_h, canvas_w), after_crop_noise, final)


def cut_window(channels: np.ndarray, pad_top: int, borders: tuple[int, int, int, int]) -> np.ndarray:
    """Cut borders out of the zero canvas that holds channels (C, H, W) at (pad_top, 0)."""
    top, bottom, left, right = borders
    n_channels, height, width = channels.shape
    out = np.zeros((n_channels, bottom - top, right - left), dtype=np.float32)
    src_top, src_bottom = max(top - pad_top, 0), min(bottom - pad_top, height)
    src_left, src_right = max(left, 0), min(right, width)
    if src_top < src_bottom and src_left < src_right:
        out[:, src_top + pad_top - top : src_bottom + pad_top - top, src_left - left : src_right - left] = channels[
            :, src_top:src_bottom, src_left:src_right
        ]
    return out


def standardize(image: np.ndarray) -> np.ndarray:
    """Per-image standardisation: (x - mean) / max(population std, 1e-5), statistics in float64."""
    values = np.asarray(image)
    mean = values.mean(dtype=np.float64)
    std = max(float(values.std(dtype=np.float64)), STD_FLOOR)
    return ((values - mean) / std).astype(np.float32)


def make_window(
    channels: np.ndarray,
    view_kind: str,
    center: tuple[int, int],
    input_size: tuple[int, int],
    rng: np.random.RandomState,
    noise: WindowNoise,
    *,
    output_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, WindowTrace]:
    """The classifier input for one view and pass.

    channels: (C, H, W) float32 in training orientation; channel 0 is the raw image, channels 1..
    (benign and malignant heatmaps) are passed through unstandardised. Returns a (C, h, w)
    float32 window with the image channel standardised, and the trace of the window.
    The window is planned for input_size; output_size (default input_size) is the size it is
    resized to, for networks trained at a reduced size.
    """
    channels = np.asarray(channels, dtype=np.float32)
    if channels.ndim != 3:
        raise ValueError(f"expected (C, H, W) channels, got shape {channels.shape}")
    pad_top, trace = plan_window(channels.shape[1:], view_kind, center, input_size, rng, noise)
    window = cut_window(channels, pad_top, trace.borders_final)
    output_size = tuple(output_size or input_size)
    if window.shape[1:] != output_size:
        window = resize_cubic(window, output_size)
    window[0] = standardize(window[0])
    return window, trace
