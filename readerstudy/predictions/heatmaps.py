"""Heatmaps stored as small 8-bit greyscale PNG overlays, one per view and class.

A stored overlay covers the whole image in its stored orientation (the viewer mirrors it with the
image by the same `flip_horizontal`), reduced by area averaging so that its longer side is at most
MAX_SIDE pixels: the heatmaps are smooth (means over 256-pixel patches), so nothing of use is lost,
and a 4-view exam costs a few tens of kilobytes. Pixel value v stands for probability v / 255.

Files live under MEDIA_ROOT/heatmaps/run-<run>/exam-<exam>/<view>-<class>.png, one fixed name per
(run, exam, view, class), written to a temporary file and renamed: a repeated task rewrites the
same file whole, never a second one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image as PILImage

MAX_SIDE = 512
CLASSES = ("benign", "malignant")


def relative_path(run_id: int, exam_id: int, view: str, kind: str) -> str:
    return f"heatmaps/run-{run_id}/exam-{exam_id}/{view}-{kind}.png"


def absolute_path(relative: str) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError(f"heatmap path {relative!r} leaves MEDIA_ROOT")
    return path


def to_overlay(values: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """A probability map (H, W) in [0, 1] as uint8, area-averaged down to at most max_side."""
    values = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32)), 0.0, 1.0)
    rows, columns = values.shape
    scale = min(1.0, max_side / max(rows, columns))
    if scale < 1.0:
        size = (max(1, round(columns * scale)), max(1, round(rows * scale)))
        values = np.asarray(PILImage.fromarray(values, mode="F").resize(size, PILImage.Resampling.BOX))
    return np.round(values * 255.0).astype(np.uint8)


def write_png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        PILImage.fromarray(pixels, mode="L").save(temporary, format="PNG", optimize=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def store(run, exam_id: int, view_heatmaps: dict) -> dict:
    """Write every view's overlays; returns {view: {"benign": path, "malignant": path, "width": w, "height": h}}."""
    stored = {}
    for view, maps in view_heatmaps.items():
        entry = {}
        for kind in CLASSES:
            overlay = to_overlay(getattr(maps, kind))
            relative = relative_path(run.pk, exam_id, view, kind)
            write_png(absolute_path(relative), overlay)
            entry[kind] = relative
        entry["height"], entry["width"] = (int(side) for side in overlay.shape)
        stored[view] = entry
    return stored
