"""Parse and validate one mammography DICOM file into a `MammoImage` (no Django here).

Validation order matters: everything that can be checked from the header (modality, pixel data
presence, transfer syntax, declared size, laterality, view) is checked before a single pixel is
decoded, so a hostile file costs no more than its header.

Pixel normalisation (documented contract): `pixels` is a C-contiguous uint16 array of the stored
values, rows x columns, in the stored orientation. 8-bit data are widened unchanged. Signed data
(Pixel Representation 1) are shifted by 2**(Bits Stored - 1) into the unsigned range, and the
Rescale Intercept is lowered by the same shift times the slope, so modality values (and therefore
windows and VOI LUTs, which apply to modality values) are unchanged.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from .orientation import (
    chest_wall_side_from_content,
    chest_wall_side_from_patient_orientation,
    needs_flip,
)
from .rejections import RejectedFile

VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
DEFAULT_MAX_PIXELS = 8192 * 8192
NATIVE_SYNTAXES = {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian,
                   DeflatedExplicitVRLittleEndian}
VOI_LUT_FUNCTIONS = {"LINEAR", "LINEAR_EXACT", "SIGMOID"}
PIXEL_DATA_TAG = 0x7FE00010
DEFER_BYTES = 1 << 20  # values larger than this are not copied out of the file at parse time
# View Code Sequence codes: SNOMED CT and the legacy SNOMED-RT (SRT) designators.
VIEW_CODES = {"399162004": "CC", "R-10242": "CC", "399368009": "MLO", "R-10226": "MLO"}
VIEW_MEANINGS = {"cranio-caudal": "CC", "medio-lateral oblique": "MLO"}


@dataclass(frozen=True)
class WindowPair:
    center: float
    width: float
    explanation: str = ""


@dataclass(frozen=True)
class VoiLut:
    first_mapped: int
    bits: int
    data: list[int]


@dataclass
class MammoImage:
    """One validated mammogram, DICOM or PNG, ready for de-identification and derivatives."""

    laterality: str
    view: str  # L-CC, R-CC, L-MLO or R-MLO
    pixels: np.ndarray  # uint16, rows x columns, stored orientation (see module docstring)
    photometric: str = "MONOCHROME2"
    bits_stored: int = 16
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    windows: list[WindowPair] = field(default_factory=list)
    voi_lut_function: str = "LINEAR"
    voi_lut: VoiLut | None = None
    pixel_spacing: tuple[float, float] | None = None  # (row, column) in mm
    pixel_spacing_source: str = ""
    patient_orientation: list[str] = field(default_factory=list)
    flip_horizontal: bool = False
    orientation_source: str = ""  # patient_orientation, image_content, exam_list or default
    burned_in_annotation: bool = False
    sop_instance_uid: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    transfer_syntax: str = ""
    dataset: Dataset | None = None  # the parsed DICOM data set, None for PNG
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def columns(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def invert(self) -> bool:
        return self.photometric == "MONOCHROME1"

    @cached_property
    def value_range(self) -> tuple[int, int]:
        """(min, max) of the stored values, computed once: orientation, preview and header use it."""
        return int(self.pixels.min()), int(self.pixels.max())


def is_dicom(head: bytes) -> bool:
    """DICOM Part 10 files carry 'DICM' after a 128-byte preamble."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def read_dicom(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> MammoImage:
    """Parse, validate and decode one DICOM file; raise RejectedFile with the specific reason."""
    if not is_dicom(data):
        raise RejectedFile("not_dicom_or_png", "no DICOM preamble ('DICM' at byte 128)")
    ds = _parse(data)
    try:
        return _read_dataset(ds, max_pixels)
    except RejectedFile as rejection:
        rejection.study_instance_uid = str(ds.get("StudyInstanceUID", "") or "").strip()
        raise


def _read_dataset(ds: Dataset, max_pixels: int) -> MammoImage:
    _check_header(ds, max_pixels)
    laterality = read_laterality(ds)
    view = f"{laterality}-{read_view_position(ds)}"
    sop_uid = str(ds.get("SOPInstanceUID", "") or "").strip()
    study_uid = str(ds.get("StudyInstanceUID", "") or "").strip()
    if not sop_uid or not study_uid:
        missing = "SOP Instance UID" if not sop_uid else "Study Instance UID"
        raise RejectedFile("missing_uid", f"{missing} is missing")

    pixels, intercept_shift = _decode_pixels(ds)
    slope = _float(ds.get("RescaleSlope"), 1.0)
    intercept = _float(ds.get("RescaleIntercept"), 0.0) - intercept_shift * slope
    image = MammoImage(
        laterality=laterality,
        view=view,
        pixels=pixels,
        photometric=str(ds.PhotometricInterpretation),
        bits_stored=int(ds.get("BitsStored") or ds.BitsAllocated),
        rescale_slope=slope,
        rescale_intercept=intercept,
        windows=read_windows(ds),
        voi_lut_function=str(ds.get("VOILUTFunction", "") or "LINEAR").upper(),
        voi_lut=read_voi_lut(ds),
        patient_orientation=[str(v) for v in (_as_list(ds.get("PatientOrientation")) or [])],
        burned_in_annotation=str(ds.get("BurnedInAnnotation", "") or "").upper() == "YES",
        sop_instance_uid=sop_uid,
        study_instance_uid=study_uid,
        series_instance_uid=str(ds.get("SeriesInstanceUID", "") or ""),
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
        dataset=ds,
    )
    if image.voi_lut_function not in VOI_LUT_FUNCTIONS:
        image.warnings.append(f"VOI LUT Function {image.voi_lut_function!r} is not defined; LINEAR used")
        image.voi_lut_function = "LINEAR"
    image.pixel_spacing, image.pixel_spacing_source = read_pixel_spacing(ds)
    orient(image)
    return image


def orient(image: MammoImage) -> None:
    """Set flip_horizontal from Patient Orientation, falling back to the image content."""
    from_tag = chest_wall_side_from_patient_orientation(image.patient_orientation)
    from_content = chest_wall_side_from_content(image.pixels, image.invert, image.value_range)
    if from_tag is not None:
        image.flip_horizontal = needs_flip(from_tag, image.laterality)
        image.orientation_source = "patient_orientation"
        if from_content is not None and from_content != from_tag:
            image.warnings.append(
                f"Patient Orientation puts the chest wall on the {from_tag} edge but the image "
                f"content suggests the {from_content} edge; the tag was followed")
    elif from_content is not None:
        image.flip_horizontal = needs_flip(from_content, image.laterality)
        image.orientation_source = "image_content"
    else:
        image.flip_horizontal = False
        image.orientation_source = "default"
        image.warnings.append("orientation unknown (no Patient Orientation, no clear tissue edge)")


def _parse(data: bytes) -> Dataset:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = pydicom.dcmread(io.BytesIO(data), defer_size=DEFER_BYTES)
            if ds.file_meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
                ds = pydicom.dcmread(io.BytesIO(data))  # offsets would be in the inflated stream
        except InvalidDicomError as exc:
            raise RejectedFile("corrupt_dicom", f"not a valid DICOM file: {exc}") from None
        except EOFError as exc:
            raise RejectedFile("truncated_file", f"the file ends unexpectedly: {exc}") from None
        except Exception as exc:  # pydicom raises many types on garbage input
            raise RejectedFile("corrupt_dicom", f"cannot parse the DICOM file: {exc}") from None
    if any("End of file reached" in str(w.message) for w in caught):
        raise RejectedFile("truncated_file", "the file ends before the end of its pixel data")
    for element in ds._dict.values():
        if not isinstance(element, RawDataElement) or element.length == 0xFFFFFFFF:
            continue
        held = len(data) - element.value_tell if element.value is None else len(element.value)
        if held < element.length:
            raise RejectedFile("truncated_file",
                               f"the file ends inside element {element.tag} "
                               f"({max(0, held)} of {element.length} bytes)")
    _attach_pixel_data(ds, data)
    _check_trailing_bytes(ds, len(data))
    try:
        with warnings.catch_warnings():  # pydicom warns about odd values; the checks below decide
            warnings.simplefilter("ignore")
            for _ in ds.iterall():  # convert every element now: pydicom converts lazily and raises late
                pass
    except Exception as exc:  # unknown VRs, undecodable values, misplaced file meta elements
        raise RejectedFile("corrupt_dicom", f"malformed element: {exc}") from None
    if not isinstance(ds.file_meta.get("TransferSyntaxUID"), str):
        raise RejectedFile("corrupt_dicom", "the file meta information has no single Transfer Syntax UID")
    misplaced = [tag for tag in ds.keys() if tag.group in (0x0000, 0x0002)]
    if misplaced:
        raise RejectedFile("corrupt_dicom", f"command or file meta element {misplaced[0]} inside the data set")
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        if keyword in ds and not isinstance(ds[keyword].value, str):
            raise RejectedFile("corrupt_dicom", f"{keyword} has more than one value")
    return ds


def _attach_pixel_data(ds: Dataset, data: bytes) -> None:
    """Native little-endian Pixel Data, left unread by dcmread (`DEFER_BYTES`), becomes a view of
    the file's bytes: the pixels and the stored copy are then made without copying 27 MB (the
    copy took about as long as pydicom's whole decode). Other deferred elements are read by
    pydicom from the same buffer when first used."""
    element = ds._dict.get(PIXEL_DATA_TAG)
    if (isinstance(element, RawDataElement) and element.value is None and element.length != 0xFFFFFFFF
            and ds.file_meta.get("TransferSyntaxUID") in (ExplicitVRLittleEndian, ImplicitVRLittleEndian)):
        start = element.value_tell
        ds._dict[PIXEL_DATA_TAG] = element._replace(value=memoryview(data)[start:start + element.length])


def _check_trailing_bytes(ds: Dataset, size: int) -> None:
    """pydicom stops quietly when fewer bytes than an element header remain: bytes after the end of
    the last element mean the file was cut inside the next element's tag, VR or length."""
    if not ds._dict or ds.file_meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
        return
    last = ds._dict[max(ds._dict)]
    if not isinstance(last, RawDataElement) or last.length == 0xFFFFFFFF or last.value_tell is None:
        return
    end = last.value_tell + last.length
    if end < size:
        raise RejectedFile("truncated_file", f"the file ends inside an element header ({size - end} "
                                             "stray bytes after the last element)")


def _check_header(ds: Dataset, max_pixels: int) -> None:
    modality = str(ds.get("Modality", "") or "").strip()
    if modality != "MG":
        raise RejectedFile("wrong_modality", f"Modality is {modality or 'missing'}, not MG")
    if "PixelData" not in ds:
        if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
            raise RejectedFile("unsupported_pixel_format", "floating-point pixel data")
        raise RejectedFile("no_pixel_data", "no Pixel Data (7FE0,0010) element")
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax not in NATIVE_SYNTAXES:
        try:
            available = get_decoder(syntax).is_available
        except NotImplementedError:
            available = False
        if not available:
            raise RejectedFile("unsupported_transfer_syntax",
                               f"transfer syntax {syntax} ({syntax.name}) cannot be decoded")
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        bits_allocated = int(ds.BitsAllocated)
    except (AttributeError, TypeError, ValueError):
        raise RejectedFile("unsupported_pixel_format", "Rows, Columns or Bits Allocated missing") from None
    if rows <= 0 or columns <= 0:
        raise RejectedFile("unsupported_pixel_format", f"image size {rows} x {columns}")
    if rows * columns > max_pixels:
        raise RejectedFile("image_too_large",
                           f"declared size {rows} x {columns} exceeds the limit of {max_pixels} pixels")
    samples = int(ds.get("SamplesPerPixel") or 1)
    frames = int(ds.get("NumberOfFrames") or 1)
    photometric = str(ds.get("PhotometricInterpretation", "") or "")
    if samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise RejectedFile("unsupported_pixel_format",
                           f"{samples} samples per pixel, photometric {photometric or 'missing'}; "
                           "greyscale MONOCHROME1/2 expected")
    if bits_allocated not in (8, 16):
        raise RejectedFile("unsupported_pixel_format", f"{bits_allocated} bits allocated")
    if frames != 1:
        raise RejectedFile("unsupported_pixel_format", f"{frames} frames; one 2D image expected")


def read_laterality(ds: Dataset) -> str:
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(ds.get(keyword, "") or "").strip().upper()
        if value in ("L", "R"):
            return value
    found = ds.get("ImageLaterality") or ds.get("Laterality")
    raise RejectedFile("unknown_laterality",
                       f"laterality {str(found)!r} is not L or R" if found
                       else "neither Image Laterality nor Laterality is present")


def read_view_position(ds: Dataset) -> str:
    position = str(ds.get("ViewPosition", "") or "").strip().upper()
    if position in ("CC", "MLO"):
        return position
    for item in ds.get("ViewCodeSequence") or []:
        code = str(item.get("CodeValue", "") or "").strip()
        if code in VIEW_CODES:
            return VIEW_CODES[code]
        meaning = str(item.get("CodeMeaning", "") or "").strip().lower()
        if meaning in VIEW_MEANINGS:
            return VIEW_MEANINGS[meaning]
    raise RejectedFile("unknown_view",
                       f"view {position!r} is not CC or MLO" if position
                       else "neither View Position nor a known View Code Sequence code is present")


def read_windows(ds: Dataset) -> list[WindowPair]:
    centers = _as_list(ds.get("WindowCenter"))
    widths = _as_list(ds.get("WindowWidth"))
    explanations = _as_list(ds.get("WindowCenterWidthExplanation"))
    pairs = []
    for index, (center, width) in enumerate(zip(centers, widths, strict=False)):
        c, w = _float(center, None), _float(width, None)
        if c is None or w is None or w <= 0:
            continue
        explanation = str(explanations[index]) if index < len(explanations) else ""
        pairs.append(WindowPair(c, w, explanation))
    return pairs


def read_voi_lut(ds: Dataset) -> VoiLut | None:
    sequence = ds.get("VOILUTSequence")
    if not sequence:
        return None
    item = sequence[0]
    descriptor = _as_list(item.get("LUTDescriptor"))
    raw = item.get("LUTData")
    if len(descriptor) != 3 or raw is None:
        return None
    entries, first_mapped, bits = (int(v) for v in descriptor)
    entries = entries or 65536  # 0 means 2**16 entries
    if isinstance(raw, bytes):
        little = getattr(ds, "original_encoding", (None, True))[1] is not False
        values = np.frombuffer(raw, dtype="<u2" if little else ">u2").tolist()
    else:
        values = [int(v) for v in _as_list(raw)]
    return VoiLut(first_mapped=first_mapped, bits=bits, data=values[:entries])


def read_pixel_spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str]:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        values = _as_list(ds.get(keyword))
        if len(values) == 2:
            row, column = _float(values[0], None), _float(values[1], None)
            if row and column and row > 0 and column > 0:
                return (row, column), keyword
    return None, ""


def _decode_pixels(ds: Dataset) -> tuple[np.ndarray, int]:
    """Stored values as uint16 and the shift applied to signed data (see module docstring)."""
    rows, columns = int(ds.Rows), int(ds.Columns)
    bits_allocated = int(ds.BitsAllocated)
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax in NATIVE_SYNTAXES:
        expected = rows * columns * bits_allocated // 8
        if len(ds.PixelData) < expected:
            raise RejectedFile("truncated_file",
                               f"pixel data holds {len(ds.PixelData)} of {expected} bytes")
    if syntax == ExplicitVRLittleEndian or syntax == ImplicitVRLittleEndian:
        if bits_allocated == 16 and not signed:
            # Zero-copy view of the stored words: the same values pixel_array returns.
            pixels = np.frombuffer(ds.PixelData, dtype="<u2", count=rows * columns)
            return pixels.reshape(rows, columns), 0
    try:
        array = ds.pixel_array
    except Exception as exc:  # decoders raise assorted types on corrupt streams
        raise RejectedFile("corrupt_pixel_data", f"the pixel data cannot be decoded: {exc}") from None
    if array.shape != (rows, columns):
        raise RejectedFile("corrupt_pixel_data", f"decoded shape {array.shape} is not {rows} x {columns}")
    shift = 0
    if signed:
        bits_stored = int(ds.get("BitsStored") or bits_allocated)
        shift = 1 << (bits_stored - 1)
        array = (array.astype(np.int32) + shift)
    return np.ascontiguousarray(array, dtype=np.uint16), shift


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
        return list(value)
    return [value]


def _float(value, default):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
