"""Synthetic screening-mammography phantoms, so the project runs end to end without patient data.

Each exam has the four standard views (L-CC, R-CC, L-MLO, R-MLO) of one synthetic patient: a
breast outline with a skin line, fat and a fibroglandular texture that thins towards the skin,
a pectoral muscle on MLO views, quantum noise, and optionally a mass (spiculated when malignant,
round and smooth when benign) and a calcification cluster seen on both views of that breast.
Pixels are 12-bit values in 16-bit words, MONOCHROME2, stored in the standard hanging
orientation (left breast: chest wall on the left edge). Everything is seeded per exam, so exam k
of seed s is the same whatever N is.

Nothing here is real: names, IDs and institutions are obviously synthetic, but present, so that
de-identification has something to remove.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

FULL_SIZE = (4096, 3328)  # rows, columns: a common full-field digital mammography detector
FULL_SIZE_SPACING_MM = 0.07
MAX_VALUE = 4095  # 12 bits stored
MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}
# Patient Orientation (row, column) as stored: rows run towards the nipple (A) for the left breast,
# towards the chest wall (P) for the right breast.
PATIENT_ORIENTATION = {"L-CC": ["A", "R"], "R-CC": ["P", "L"], "L-MLO": ["A", "F"], "R-MLO": ["P", "F"]}
VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")


@dataclass
class Lesion:
    kind: str  # "mass" or "calcifications"
    malignant: bool
    depth: float  # position from the chest wall, as a fraction of the breast depth
    height: float  # vertical offset from the breast axis, as a fraction of the half-height
    radius_mm: float


@dataclass
class PhantomExam:
    exam_id: str
    patient_id: str
    patient_name: str
    birth_date: str
    study_date: str
    study_uid: str
    views: dict[str, np.ndarray] = field(default_factory=dict)  # view -> uint16 pixels
    truth: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # side -> (malignant, benign)


def exam_id_for(seed: int, index: int) -> str:
    """The exam id, also the Accession Number (SH: at most 16 characters)."""
    return f"PH-S{seed}-{index:04d}"[:16]


def make_exam(index: int, size: tuple[int, int] = FULL_SIZE, seed: int = 0,
              p_malignant: float = 0.3, p_benign: float = 0.3) -> PhantomExam:
    rng = np.random.default_rng([seed, index])
    exam_id = exam_id_for(seed, index)
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=int(rng.integers(0, 30 * 365)))
    study = dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 8 * 365)))
    exam = PhantomExam(
        exam_id=exam_id,
        patient_id=f"SYNTH-{seed}-{index:06d}",
        patient_name=f"PHANTOM^SYNTHETIC^{index:04d}",
        birth_date=birth.strftime("%Y%m%d"),
        study_date=study.strftime("%Y%m%d"),
        study_uid=generate_uid(entropy_srcs=["phantom-study", str(seed), str(index)]),
    )
    lesions: dict[str, list[Lesion]] = {"L": [], "R": []}
    malignant_side = ("L", "R")[int(rng.integers(0, 2))] if rng.random() < p_malignant else None
    for side in ("L", "R"):
        malignant = side == malignant_side
        benign = rng.random() < p_benign
        if malignant:
            lesions[side].append(Lesion("mass", True, rng.uniform(0.3, 0.7), rng.uniform(-0.5, 0.5),
                                        rng.uniform(5.0, 10.0)))
            if rng.random() < 0.5:
                lesions[side].append(Lesion("calcifications", True, rng.uniform(0.3, 0.7),
                                            rng.uniform(-0.5, 0.5), rng.uniform(3.0, 6.0)))
        if benign:
            kind = "mass" if rng.random() < 0.6 else "calcifications"
            lesions[side].append(Lesion(kind, False, rng.uniform(0.25, 0.75), rng.uniform(-0.6, 0.6),
                                        rng.uniform(4.0, 8.0)))
        exam.truth[side] = (malignant, benign)
    breast_depth = rng.uniform(0.55, 0.8)
    breast_half_height = rng.uniform(0.36, 0.45)
    density = rng.uniform(0.2, 0.9)
    for view in VIEWS:
        side, position = view.split("-")
        view_rng = np.random.default_rng([seed, index, VIEWS.index(view)])
        display = render_view(size, position, lesions[side], view_rng, breast_depth,
                              breast_half_height, density)
        exam.views[view] = display if side == "L" else np.ascontiguousarray(display[:, ::-1])
    return exam


def render_view(size: tuple[int, int], position: str, lesions: list[Lesion], rng: np.random.Generator,
                depth: float, half_height: float, density: float) -> np.ndarray:
    """One view with the chest wall on the left edge, as uint16 12-bit values."""
    rows, columns = size
    mm_per_px = FULL_SIZE_SPACING_MM * FULL_SIZE[0] / rows
    y = (np.arange(rows, dtype=np.float32) / rows)[:, None]
    x = (np.arange(columns, dtype=np.float32) / columns)[None, :]
    a = depth * rng.uniform(0.95, 1.05)  # breast depth, fraction of the width
    b = half_height * rng.uniform(0.95, 1.05)  # half-height at the chest wall, fraction of the height
    center = 0.5 + rng.uniform(-0.03, 0.03)
    if position == "MLO":
        # The breast hangs obliquely: an ellipse tilted downwards whose upper flank runs into the
        # axilla at the top edge near the chest wall.
        center -= 0.08
        angle = math.radians(rng.uniform(22.0, 30.0))
        dx, dy = x * columns / rows, y - center
        along = dx * math.cos(angle) + dy * math.sin(angle)
        across = -dx * math.sin(angle) + dy * math.cos(angle)
        r = np.sqrt((along / (a * columns / rows * 1.1)) ** 2 + (across / (b * 1.05)) ** 2)
    else:
        r = np.sqrt((x / a) ** 2 + ((y - center) / b) ** 2)
    inside = r < 1.0
    thickness = np.sqrt(np.clip((1.0 - r) / 0.18, 0.0, 1.0))  # compressed breast thins at the edge
    image = 60.0 + inside * (900.0 + 450.0 * thickness)
    skin_px = max(2.0, 2.0 / mm_per_px)
    skin_width = skin_px / (a * columns)
    image += ((r < 1.0) & (r > 1.0 - skin_width)) * 220.0
    texture = smooth_noise((rows, columns), rng)
    envelope = np.clip(1.0 - r / 0.85, 0.0, 1.0) ** 0.7
    glandular = np.clip(texture - (1.0 - density) * 0.8, 0.0, None) ** 0.8
    image += inside * envelope * glandular * 1900.0
    if position == "MLO":
        width = rng.uniform(0.25, 0.38)
        height = rng.uniform(0.45, 0.7)
        muscle = (x / width + y / height) < 1.0
        image += (muscle & inside) * (520.0 + 120.0 * texture)
    # Quantum noise inside the breast; processed (for presentation) images have a flat background.
    image += rng.standard_normal((rows, columns), dtype=np.float32) * (inside * 14.0)
    for lesion in lesions:
        if position == "MLO":  # along/across the tilted breast axis, back to pixel coordinates
            along = lesion.depth * a * columns / rows * 1.1
            across = lesion.height * b * 1.05 * 0.8
            dx = along * math.cos(angle) - across * math.sin(angle)
            dy = along * math.sin(angle) + across * math.cos(angle)
            cx, cy = dx * rows, (center + dy) * rows
        else:
            cx, cy = lesion.depth * a * columns, (center + lesion.height * b * 0.8) * rows
        add_lesion(image, lesion, cx, cy, mm_per_px, rng)
    return np.clip(image, 0, MAX_VALUE).astype(np.uint16)


def smooth_noise(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Fibroglandular-like texture on [0, ~1.5]: octaves of smooth noise summed at low resolution
    and upsampled once (bilinear), cheap even at full size."""
    rows, columns = size
    low = (max(8, rows // 8), max(8, columns // 8))
    total = np.zeros(low, dtype=np.float32)
    for cells, weight in ((4, 1.0), (8, 0.7), (16, 0.5), (32, 0.4), (64, 0.3), (128, 0.2)):
        grid = rng.random((cells, max(2, cells * columns // rows))).astype(np.float32)
        total += weight * _resize(grid, low)
    total /= 3.1
    return _resize(total, size)


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32), mode="F")
    return np.asarray(image.resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32)


def add_lesion(image: np.ndarray, lesion: Lesion, cx: float, cy: float, mm_per_px: float,
               rng: np.random.Generator) -> None:
    """Add a mass or a calcification cluster centred at pixel (cx, cy)."""
    rows, columns = image.shape
    radius = lesion.radius_mm / mm_per_px
    if lesion.kind == "mass":
        half = int(radius * 3) + 2
        y0, y1 = max(0, int(cy) - half), min(rows, int(cy) + half)
        x0, x1 = max(0, int(cx) - half), min(columns, int(cx) + half)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dy, dx = yy - cy, xx - cx
        distance = np.sqrt(dx ** 2 + dy ** 2) / radius
        if lesion.malignant:
            angle = np.arctan2(dy, dx)
            wobble = 1.0 + 0.18 * np.sin(5 * angle + rng.uniform(0, 6.3)) + 0.1 * np.sin(11 * angle)
            body = np.clip(1.3 - distance / wobble, 0.0, 1.0)
            spikes = np.clip(np.cos(rng.integers(7, 13) * angle + rng.uniform(0, 6.3)), 0, 1) ** 30
            body += spikes * np.clip(1.0 - (distance - 1.0) / 1.8, 0.0, 1.0) * (distance > 0.8) * 0.6
            image[y0:y1, x0:x1] += body * 520.0
        else:
            image[y0:y1, x0:x1] += np.clip((1.15 - distance) * 6.0, 0.0, 1.0) * 420.0
    else:
        count = int(rng.integers(6, 16))
        for _ in range(count):
            px = cx + rng.normal(0, radius * 0.5)
            py = cy + rng.normal(0, radius * 0.5)
            speck = max(1.0, rng.uniform(0.15, 0.4) / mm_per_px)
            half = int(speck) + 2
            y0, y1 = max(0, int(py) - half), min(rows, int(py) + half + 1)
            x0, x1 = max(0, int(px) - half), min(columns, int(px) + half + 1)
            if y0 >= y1 or x0 >= x1:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            inside = ((yy - py) ** 2 + (xx - px) ** 2) <= speck ** 2
            image[y0:y1, x0:x1] += inside * (1700.0 if lesion.malignant else 1300.0)


def phantom_dataset(exam: PhantomExam, view: str, pixels: np.ndarray, seed: int, index: int) -> Dataset:
    """A valid Digital Mammography X-Ray Image (For Presentation) data set for one view."""
    side, position = view.split("-")
    rows, columns = pixels.shape
    spacing = FULL_SIZE_SPACING_MM * FULL_SIZE[0] / rows
    sop_uid = generate_uid(entropy_srcs=["phantom-image", str(seed), str(index), view])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MG_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.SOPClassUID = MG_FOR_PRESENTATION
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = exam.study_date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = "093000"
    ds.AccessionNumber = exam.exam_id
    ds.Modality = "MG"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.Manufacturer = "Mammo Reader Study phantom generator"
    ds.InstitutionName = "Synthetic Phantom Institute (not a real hospital)"
    ds.InstitutionAddress = "1 Phantom Way, Nowhere"
    ds.ReferringPhysicianName = "SYNTHETIC^REFERRER"
    ds.StationName = "PHANTOM01"
    ds.StudyDescription = "Synthetic screening mammogram (phantom)"
    ds.SeriesDescription = f"Phantom {view}"
    ds.OperatorsName = "SYNTHETIC^OPERATOR"
    ds.PatientName = exam.patient_name
    ds.PatientID = exam.patient_id
    ds.PatientBirthDate = exam.birth_date
    ds.PatientSex = "F"
    ds.PatientAge = f"{min(999, int(exam.study_date[:4]) - int(exam.birth_date[:4])):03d}Y"
    ds.DeviceSerialNumber = f"SYN-{seed:04d}"
    ds.BodyPartExamined = "BREAST"
    ds.StudyInstanceUID = exam.study_uid
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["phantom-series", str(seed), str(index), view])
    ds.StudyID = f"{index:04d}"
    ds.SeriesNumber = VIEWS.index(view) + 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = PATIENT_ORIENTATION[view]
    ds.ImageLaterality = side
    ds.ViewPosition = position
    code, meaning = VIEW_CODES[position]
    view_code = Dataset()
    view_code.CodeValue = code
    view_code.CodingSchemeDesignator = "SCT"
    view_code.CodeMeaning = meaning
    ds.ViewCodeSequence = Sequence([view_code])
    ds.BurnedInAnnotation = "NO"
    ds.BreastImplantPresent = "NO"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.WindowCenter = [2048, 1900]
    ds.WindowWidth = [4096, 2200]
    ds.WindowCenterWidthExplanation = ["FULL RANGE", "STANDARD"]
    ds.VOILUTFunction = "LINEAR"
    ds.ImagerPixelSpacing = [spacing, spacing]
    ds.PixelSpacing = [spacing, spacing]
    ds.LossyImageCompression = "00"
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    return ds


def truth_rows(exam: PhantomExam, with_source: bool = True) -> list[list]:
    rows = []
    for side in ("L", "R"):
        malignant, benign = exam.truth[side]
        row = [exam.exam_id, side, int(malignant), int(benign)]
        rows.append(row + ["phantom"] if with_source else row)
    return rows


def to_png16(pixels: np.ndarray) -> np.ndarray:
    """12-bit values rescaled to the full 16-bit range, as in the published sample PNGs."""
    return np.round(pixels.astype(np.float32) * (65535.0 / MAX_VALUE)).astype(np.uint16)


def generate(n: int, out: Path | str, size: tuple[int, int] = FULL_SIZE, fmt: str = "dicom",
             seed: int = 0, start: int = 1, progress=None) -> list[Path]:
    """Write N phantom exams under `out` and their truth; returns the files written.

    fmt="dicom": one DICOM MG file per view plus truth.csv (exam_id,side,malignant,benign,source).
    fmt="png": 16-bit PNGs, exam_list.json in the classifier's format
    ([{"exam_id", "horizontal_flip": "NO", "L-CC": "file.png", ...}]) and labels.csv
    (exam_id,side,malignant,benign).
    """
    if fmt not in ("dicom", "png"):
        raise ValueError(f"format must be 'dicom' or 'png', not {fmt!r}")
    if n < 0:
        raise ValueError("the number of exams must not be negative")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    truth: list[list] = []
    exam_list: list[dict] = []
    for index in range(start, start + n):
        exam = make_exam(index, size, seed)
        entry = {"exam_id": exam.exam_id, "horizontal_flip": "NO"}
        for view, pixels in exam.views.items():
            stem = f"{exam.exam_id}_{view.replace('-', '_')}"
            if fmt == "dicom":
                path = out / f"{stem}.dcm"
                phantom_dataset(exam, view, pixels, seed, index).save_as(path, enforce_file_format=True)
            else:
                path = out / f"{stem}.png"
                Image.fromarray(to_png16(pixels)).save(path, format="PNG", compress_level=1)
                entry[view] = path.name
            written.append(path)
        exam_list.append(entry)
        truth.extend(truth_rows(exam, with_source=fmt == "dicom"))
        if progress is not None:
            progress(index - start + 1, n)
    if fmt == "dicom":
        written.append(_write_csv(out / "truth.csv", ["exam_id", "side", "malignant", "benign", "source"], truth))
    else:
        list_path = out / "exam_list.json"
        list_path.write_text(json.dumps(exam_list, indent=1))
        written.append(list_path)
        written.append(_write_csv(out / "labels.csv", ["exam_id", "side", "malignant", "benign"], truth))
    return written


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def parse_size(text: str) -> tuple[int, int]:
    """'HxW' -> (rows, columns); rows and columns between 64 and 8192."""
    try:
        rows, columns = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r} is not HxW, e.g. 1024x832") from None
    if not (64 <= rows <= 8192 and 64 <= columns <= 8192):
        raise ValueError(f"size {text!r} out of range (64..8192 per side)")
    return rows, columns


