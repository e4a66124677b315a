"""16-bit PNG exams in the published classifier's format (no Django here).

An exam list (JSON or CSV) names, per exam, the file of each view and `horizontal_flip`:
- JSON: `[{"exam_id": "1", "horizontal_flip": "NO", "L-CC": "1_L_CC.png", ...}]`; a view may
  also be a list of one file name, and names may omit ".png" (the classifier's own lists do both);
- CSV: header `exam_id,horizontal_flip,L-CC,R-CC,L-MLO,R-MLO` (empty cell: view absent).
Files are matched by base name against the other files of the same import.

Orientation: with horizontal_flip NO, L views face right (chest wall on the left edge) and R views
face left, which is already the hanging protocol; YES means the images are mirrored, so
flip_horizontal = (horizontal_flip == YES).
"""
from __future__ import annotations

import csv
import io
import json
import posixpath
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .dicom_reader import DEFAULT_MAX_PIXELS, VIEWS, MammoImage
from .rejections import RejectedFile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ListedExam:
    exam_id: str
    horizontal_flip: bool
    views: dict[str, str]  # view -> file base name (with .png)


def is_png(head: bytes) -> bool:
    return head.startswith(PNG_SIGNATURE)


def looks_like_exam_list(name: str, head: bytes) -> bool:
    lowered = name.lower()
    return lowered.endswith(".json") or (lowered.endswith(".csv") and b"horizontal_flip" in head[:4096])


def parse_exam_list(name: str, data: bytes) -> list[ListedExam]:
    """Parse a JSON or CSV exam list; raise RejectedFile('invalid_exam_list', ...) naming the entry."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RejectedFile("invalid_exam_list", "the exam list is not UTF-8 text") from None
    if name.lower().endswith(".json"):
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RejectedFile("invalid_exam_list", f"invalid JSON: {exc}") from None
        if not isinstance(entries, list):
            raise RejectedFile("invalid_exam_list", "the JSON exam list must be a list of exams")
        rows = entries
        labels = [f"entry {index + 1}" for index in range(len(rows))]
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "exam_id" not in reader.fieldnames:
            raise RejectedFile("invalid_exam_list", "the CSV exam list needs an exam_id column")
        rows = list(reader)
        labels = [f"line {index + 2}" for index in range(len(rows))]  # the header is line 1
    exams: list[ListedExam] = []
    seen: set[str] = set()
    for row, label in zip(rows, labels, strict=False):
        exam = _listed_exam(row, label)
        if exam.exam_id in seen:
            raise RejectedFile("invalid_exam_list", f"exam {exam.exam_id!r} is listed twice")
        seen.add(exam.exam_id)
        exams.append(exam)
    if not exams:
        raise RejectedFile("invalid_exam_list", "the exam list names no exams")
    return exams


def _listed_exam(row, where: str) -> ListedExam:
    if not isinstance(row, dict):
        raise RejectedFile("invalid_exam_list", f"{where}: an exam must be an object")
    exam_id = str(row.get("exam_id", "") or "").strip()
    if not exam_id:
        raise RejectedFile("invalid_exam_list", f"{where}: exam_id is missing")
    flip_text = str(row.get("horizontal_flip", "NO") or "NO").strip().upper()
    if flip_text not in ("YES", "NO"):
        raise RejectedFile("invalid_exam_list", f"{where}: horizontal_flip must be YES or NO, not {flip_text!r}")
    views: dict[str, str] = {}
    for view in VIEWS:
        value = row.get(view)
        if isinstance(value, list):
            if len(value) > 1:
                raise RejectedFile("invalid_exam_list", f"{where}: {view} lists {len(value)} files; one is supported")
            value = value[0] if value else None
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise RejectedFile("invalid_exam_list", f"{where}: {view} must be a file name")
        base = posixpath.basename(value.replace("\\", "/").strip())
        views[view] = base if base.lower().endswith(".png") else base + ".png"
    if not views:
        raise RejectedFile("invalid_exam_list", f"{where}: exam {exam_id!r} names no view")
    return ListedExam(exam_id, flip_text == "YES", views)


def read_png(data: bytes, view: str, horizontal_flip: bool, *,
             max_pixels: int = DEFAULT_MAX_PIXELS) -> MammoImage:
    """Decode one greyscale PNG (16 or 8 bit) into a MammoImage for `view` (e.g. 'L-CC')."""
    if not is_png(data):
        raise RejectedFile("corrupt_png", "no PNG signature")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size  # from the header, before any pixel is decoded
            if width * height > max_pixels:
                raise RejectedFile("image_too_large",
                                   f"declared size {height} x {width} exceeds the limit of {max_pixels} pixels")
            if image.mode not in ("I;16", "I;16B", "I;16L", "I", "L"):
                raise RejectedFile("unsupported_png_format",
                                   f"PNG mode {image.mode}; single-channel greyscale expected")
            image.load()
            array = np.asarray(image)
    except RejectedFile:
        raise
    except Image.DecompressionBombError as exc:
        raise RejectedFile("image_too_large", str(exc)) from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError on broken streams
        raise RejectedFile("corrupt_png", f"the PNG cannot be decoded: {exc}") from None
    if array.ndim != 2:
        raise RejectedFile("unsupported_png_format", "the PNG is not a single-channel image")
    bits = 8 if image.mode == "L" else 16
    if array.dtype != np.uint16:
        if array.min(initial=0) < 0 or array.max(initial=0) > 65535:
            raise RejectedFile("unsupported_png_format", "PNG values outside 0..65535")
        array = array.astype(np.uint16)
    laterality = view[0]
    return MammoImage(
        laterality=laterality,
        view=view,
        pixels=np.ascontiguousarray(array),
        photometric="MONOCHROME2",
        bits_stored=bits,
        flip_horizontal=horizontal_flip,
        orientation_source="exam_list",
    )
