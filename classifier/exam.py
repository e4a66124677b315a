"""Screening exams as the classifier sees them, and the EXAMS.json exam-list format.

An exam list is a JSON list of objects:

    {"exam_id": "C1", "horizontal_flip": "NO",
     "L-CC": "1_L_CC.png", "R-CC": "1_R_CC.png", "L-MLO": "2_L_CC.png", "R-MLO": "2_R_CC.png"}

A view's value is a file name in the image directory, or a list of them (the published exam lists
hold lists of file stems such as ["0_L_CC"]; a missing ".png" suffix is added). After the crop
stage an entry also carries the published per-view, per-image metadata lists `window_location`,
`rightmost_points`, `bottommost_points` and `distance_from_starting_side`, and then its images
are the cropped PNGs; after the centre stage it also carries `best_center`. `exam_id` defaults to
the entry's position in the list.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .preprocessing.crop import CropMetadata
from .preprocessing.io import VIEWS, check_flip, read_png_uint16

CROP_KEYS = ("window_location", "rightmost_points", "bottommost_points", "distance_from_starting_side")


class ExamError(ValueError):
    """An exam or exam-list entry is malformed (missing view, bad flip value, missing file...)."""


@dataclass
class ExamImage:
    """One image of a view.

    source: a path to a 16-bit PNG or a 2-D uint16 array, in stored orientation. When `crop` is
    given the source is the already cropped image; otherwise it is the raw mammogram.
    heatmaps: optional precomputed (benign, malignant) heatmaps of the cropped image, each a
    float32 array or a .npy path, in the cropped image's stored orientation.
    """

    source: str | Path | np.ndarray
    crop: CropMetadata | None = None
    best_center: tuple[int, int] | None = None
    heatmaps: tuple[Any, Any] | None = None

    @property
    def name(self) -> str:
        """File stem, used to name per-image outputs."""
        if isinstance(self.source, np.ndarray):
            return "array"
        return Path(self.source).stem

    @property
    def file_name(self) -> str:
        if isinstance(self.source, np.ndarray):
            raise ExamError("an image given as an array has no file name")
        return Path(self.source).name

    def load(self) -> np.ndarray:
        if isinstance(self.source, np.ndarray):
            array = self.source
            if array.ndim != 2:
                raise ExamError(f"image arrays must be 2-D, got shape {array.shape}")
            return array
        return read_png_uint16(self.source)

    def load_heatmaps(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.heatmaps is None:
            return None
        maps = []
        for item in self.heatmaps:
            if isinstance(item, np.ndarray):
                maps.append(item.astype(np.float32, copy=False))
                continue
            path = Path(item)
            if not path.is_file():
                raise ExamError(f"heatmap file not found: {path}")
            maps.append(np.load(path, allow_pickle=False).astype(np.float32, copy=False))
        if maps[0].ndim != 2 or maps[0].shape != maps[1].shape:
            raise ExamError(f"{self.name}: benign and malignant heatmaps must be 2-D arrays of the same shape")
        return maps[0], maps[1]


@dataclass
class Exam:
    """exam_id, horizontal_flip ('NO' or 'YES') and, per view, one image or several.

    `images` maps every view L-CC, R-CC, L-MLO, R-MLO to a path, an array, an ExamImage or a list
    of these; it is normalised to tuples of ExamImage.
    """

    exam_id: str
    horizontal_flip: str
    images: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            check_flip(self.horizontal_flip)
        except ValueError as error:
            raise ExamError(f"exam {self.exam_id}: {error}") from None
        missing = [view for view in VIEWS if view not in self.images]
        if missing:
            raise ExamError(f"exam {self.exam_id}: missing view(s) {', '.join(missing)}")
        unknown = [view for view in self.images if view not in VIEWS]
        if unknown:
            raise ExamError(f"exam {self.exam_id}: unknown view(s) {', '.join(map(str, unknown))}")
        normalised = {}
        for view in VIEWS:
            value = self.images[view]
            items = list(value) if isinstance(value, (list, tuple)) else [value]
            if not items:
                raise ExamError(f"exam {self.exam_id}: view {view} has no image")
            normalised[view] = tuple(item if isinstance(item, ExamImage) else ExamImage(item) for item in items)
        self.images = normalised

    @classmethod
    def from_record(cls, record: dict, image_dir: str | Path | None = None, *, index: int = 0) -> Exam:
        """Build an exam from an exam-list entry; file names are resolved in image_dir."""
        if not isinstance(record, dict):
            raise ExamError(f"exam list entry {index} is not an object")
        exam_id = str(record.get("exam_id", index))
        if "horizontal_flip" not in record:
            raise ExamError(f"exam {exam_id}: missing horizontal_flip")
        missing = [view for view in VIEWS if view not in record]
        if missing:
            raise ExamError(f"exam {exam_id}: missing view(s) {', '.join(missing)}")
        directory = Path(image_dir) if image_dir is not None else Path(".")
        cropped = any(key in record for key in CROP_KEYS)
        images = {}
        for view in VIEWS:
            names = record[view] if isinstance(record[view], list) else [record[view]]
            if not names or not all(isinstance(name, str) and name for name in names):
                raise ExamError(f"exam {exam_id}: view {view} must be a file name or a list of file names")
            centers = _per_image(record, "best_center", view, len(names), exam_id) if "best_center" in record else None
            view_images = []
            for position, name in enumerate(names):
                crop = None
                if cropped:
                    crop = CropMetadata.from_dict(
                        {key: _per_image(record, key, view, len(names), exam_id)[position] for key in CROP_KEYS}
                    )
                center = _center(centers[position], exam_id, view) if centers is not None else None
                view_images.append(ExamImage(resolve_image(directory, name, exam_id, view), crop, center))
            images[view] = view_images
        return cls(exam_id, record["horizontal_flip"], images)

    def to_record(self) -> dict:
        """The exam-list entry (file names relative to their directory, metadata when known)."""
        record: dict[str, Any] = {"exam_id": self.exam_id, "horizontal_flip": self.horizontal_flip}
        for view in VIEWS:
            record[view] = [image.file_name for image in self.images[view]]
        if all(image.crop is not None for view in VIEWS for image in self.images[view]):
            for key in CROP_KEYS:
                record[key] = {view: [image.crop.as_dict()[key] for image in self.images[view]] for view in VIEWS}
        if all(image.best_center is not None for view in VIEWS for image in self.images[view]):
            record["best_center"] = {view: [list(image.best_center) for image in self.images[view]] for view in VIEWS}
        return record


def _center(value: Any, exam_id: str, view: str) -> tuple[int, int]:
    try:
        y, x = value
        return int(y), int(x)
    except (TypeError, ValueError):
        raise ExamError(f"exam {exam_id}: best_center[{view}] entries must be [y, x], got {value!r}") from None


def _per_image(record: dict, key: str, view: str, n_images: int, exam_id: str) -> list:
    values = record.get(key)
    if not isinstance(values, dict) or view not in values:
        raise ExamError(f"exam {exam_id}: {key} must map every view to a list with one entry per image")
    per_view = values[view]
    if not isinstance(per_view, list) or len(per_view) != n_images:
        raise ExamError(f"exam {exam_id}: {key}[{view}] must be a list of {n_images} entr{'y' if n_images == 1 else 'ies'}")
    return per_view


def resolve_image(directory: Path, name: str, exam_id: str = "", view: str = "") -> Path:
    """The image file for a name in an exam list; a bare stem gets '.png' added."""
    path = directory / name
    if not path.is_file() and not path.suffix:
        path = path.with_suffix(".png")
    if not path.is_file():
        where = f"exam {exam_id} view {view}: " if exam_id or view else ""
        raise ExamError(f"{where}image file not found: {directory / name}")
    return path


def read_exam_list(path: str | Path, image_dir: str | Path | None = None) -> list[Exam]:
    """Read an EXAMS.json exam list; images are resolved in image_dir (default: the list's folder)."""
    path = Path(path)
    if not path.is_file():
        raise ExamError(f"exam list not found: {path}")
    try:
        records = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ExamError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(records, list):
        raise ExamError(f"{path}: an exam list must be a JSON list of exams")
    directory = Path(image_dir) if image_dir is not None else path.parent
    exams = [Exam.from_record(record, directory, index=index) for index, record in enumerate(records)]
    ids = [exam.exam_id for exam in exams]
    duplicates = sorted({exam_id for exam_id in ids if ids.count(exam_id) > 1})
    if duplicates:
        raise ExamError(f"{path}: duplicate exam_id {', '.join(duplicates)}")
    return exams


def write_exam_list(path: str | Path, exams: Iterable[Exam]) -> None:
    """Write an exam list, one exam per line."""
    lines = [json.dumps(exam.to_record()) for exam in exams]
    Path(path).write_text("[\n" + ",\n".join(lines) + "\n]\n")


def canonical_images(exam: Exam) -> Sequence[tuple[str, int, ExamImage]]:
    """(view, position, image) in the published processing order: views canonical, images in order."""
    return [(view, position, image) for view in VIEWS for position, image in enumerate(exam.images[view])]
