"""THE import path: the upload page, the API and `manage.py import_exams` all call `ingest()`.

1. Every file is read (zips expanded by `sources`), sniffed and parsed: DICOM files are validated,
   de-identified and staged at once (stored copy, pixel derivative, preview written to temporary
   files under MEDIA_ROOT/.staging, so memory holds one image at a time); PNGs wait for their
   exam list.
2. PNG exams are resolved against the exam lists of the same import.
3. Images are grouped into exams (DICOM: by Study Instance UID; PNG: by the list's exam id). An
   exam with any rejected file is not stored at all. Each exam is written in one transaction;
   its files are moved into place inside it and removed again if anything fails, so a failure
   leaves neither rows nor orphan files. The staging folder is removed at the end in any case.

Every file gets a result: imported (exam label and view), or rejected with its reason code.
"""
from __future__ import annotations

import io
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from isal import isal_zlib
from PIL import Image as PILImage

from readerstudy import audit

from . import derivatives
from .deidentify import Deidentifier
from .dicom_reader import MammoImage, read_dicom
from .dicom_writer import write_dicom
from .models import Exam, IdentifierMap, Image
from .png_exams import ListedExam, parse_exam_list, read_png
from .rejections import RejectedFile
from .sources import Limits, SourceFile, iter_paths, iter_stream, kind_of

logger = logging.getLogger(__name__)
IMPORTED, REJECTED, EXAM_LIST, SKIPPED = "imported", "rejected", "exam_list", "skipped"
_STAGE_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-stage")
PIXELS_SUFFIX = ".planes.gz"  # the pixel derivative's layout: see derivatives.py


@dataclass
class FileResult:
    name: str
    status: str  # imported, rejected, exam_list or skipped
    reason: str = ""
    message: str = ""
    exam: str = ""
    view: str = ""
    image_id: int | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    exams: list[str] = field(default_factory=list)  # labels of exams created or extended

    @property
    def imported(self) -> int:
        return sum(result.status == IMPORTED for result in self.results)

    @property
    def rejected(self) -> int:
        return sum(result.status == REJECTED for result in self.results)

    def as_dict(self) -> dict:
        return {"imported": self.imported, "rejected": self.rejected, "exams": self.exams,
                "results": [result.as_dict() for result in self.results]}


@dataclass
class StagedImage:
    result: FileResult
    exam_key: str  # "dicom:<remapped study UID>" or "png:<exam id>"
    label: str
    source: str
    image: MammoImage  # pixels dropped after staging
    sop_instance_uid: str
    value_range: tuple[int, int]
    shape: tuple[int, int]  # rows, columns
    files: dict[str, Path]  # source, pixels, preview -> staged path
    token: str  # unique part of the stored file names
    checksum: str  # of the stored copy
    pseudo_patient_id: str = ""
    remapped_study_uid: str = ""
    original: dict[str, str] = field(default_factory=dict)
    date_offset_days: int = 0
    attributes: dict = field(default_factory=dict)  # de-identified subgroup attributes of the exam


def limits_from_settings() -> Limits:
    return Limits(max_file_bytes=getattr(settings, "INGEST_MAX_FILE_BYTES", Limits.max_file_bytes))


def deidentifier() -> Deidentifier:
    return Deidentifier(getattr(settings, "DEID_SECRET", settings.SECRET_KEY))


def exam_label_for(original_exam_id: str) -> str:
    """The de-identified exam label: a keyed pseudonym of the accession number / exam id."""
    return deidentifier().pseudonym(original_exam_id, "EX")


def find_exam(identifier: str) -> Exam | None:
    """An exam by its label, or by the original accession number / exam id it was imported with."""
    identifier = identifier.strip()
    return (Exam.objects.filter(label=identifier).first()
            or Exam.objects.filter(label=exam_label_for(identifier)).first())


def ingest_paths(paths: Iterable[str | Path], **options) -> IngestReport:
    return ingest(iter_paths(paths, limits_from_settings()), **options)


def ingest_uploads(uploads, **options) -> IngestReport:
    """Django UploadedFile objects (many files, or zips)."""
    limits = limits_from_settings()

    def sources():
        for upload in uploads:
            if upload.size is not None and upload.size > limits.max_file_bytes and not _is_zip(upload):
                yield SourceFile(upload.name, rejection=RejectedFile(
                    "file_too_large", f"the file has {upload.size} bytes, over the limit of {limits.max_file_bytes}"))
                continue
            upload.seek(0)
            yield from iter_stream(upload.name, upload, limits)

    return ingest(sources(), **options)


def _is_zip(upload) -> bool:
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    return head == b"PK\x03\x04"


def ingest(sources: Iterable[SourceFile], *, user=None, request=None, keep_identifier_map: bool | None = None,
           progress: Callable[[str], None] | None = None) -> IngestReport:
    if keep_identifier_map is None:
        keep_identifier_map = getattr(settings, "INGEST_KEEP_IDENTIFIER_MAP", True)
    run = _Run(user=user, request=request, keep_identifier_map=keep_identifier_map)
    try:
        for source in sources:
            run.read(source)
            if progress is not None:
                progress(source.name)
            source.data = None  # freed before the next file is read: its memory is reused warm
        run.resolve_png_exams()
        run.commit()
    finally:
        shutil.rmtree(run.staging, ignore_errors=True)
    return run.report


class _Run:
    def __init__(self, user, request, keep_identifier_map: bool):
        self.user, self.request, self.keep_identifier_map = user, request, keep_identifier_map
        self.max_pixels = getattr(settings, "INGEST_MAX_PIXELS", 8192 * 8192)
        self.deid = deidentifier()
        self.report = IngestReport()
        self.staged: list[StagedImage] = []
        self.failed_exams: dict[str, FileResult] = {}  # exam key -> first rejection
        self.exam_lists: list[tuple[FileResult, ListedExam]] = []
        self.pending_pngs: dict[str, tuple[FileResult, Path]] = {}  # base name -> staged bytes
        self.sop_uids: set[str] = set()
        staging_root = Path(settings.MEDIA_ROOT) / ".staging"
        _remove_stale_staging(staging_root)
        self.staging = staging_root / uuid.uuid4().hex
        self.staging.mkdir(parents=True)

    # ---- reading -------------------------------------------------------------------------
    def read(self, source: SourceFile) -> None:
        result = FileResult(source.name, REJECTED)
        self.report.results.append(result)
        if source.rejection is not None:
            self._reject(result, source.rejection)
            return
        kind = kind_of(source.name, source.data)
        try:
            if kind == "dicom":
                self._stage_dicom(result, source.data)
            elif kind == "png":
                self._hold_png(result, source)
            elif kind == "exam_list":
                for listed in parse_exam_list(source.name, source.data):
                    self.exam_lists.append((result, listed))
                result.status = EXAM_LIST
                result.message = f"{sum(r is result for r, _ in self.exam_lists)} exam(s) listed"
            elif kind == "truth_csv":
                result.status = SKIPPED
                result.message = "ground truth is imported separately (truth upload or manage.py import_truth)"
            elif kind == "zip":
                raise RejectedFile("nested_archive")
            else:
                raise RejectedFile("not_dicom_or_png", "the content is neither DICOM, PNG, a zip archive "
                                                       "nor a JSON/CSV exam list")
        except RejectedFile as rejection:
            self._reject(result, rejection)
        except Exception:  # a file no check foresaw must not abort the whole import
            logger.exception("import of %s failed unexpectedly", source.name)
            self._reject(result, RejectedFile("processing_error"))

    def _reject(self, result: FileResult, rejection: RejectedFile, exam_key: str = "") -> None:
        result.status, result.reason, result.message = REJECTED, rejection.reason_code, rejection.message
        if not exam_key and rejection.study_instance_uid:
            exam_key = "dicom:" + self.deid.remap_uid(rejection.study_instance_uid)
        if exam_key:
            self.failed_exams.setdefault(exam_key, result)

    def _stage_dicom(self, result: FileResult, data: bytes) -> None:
        image = read_dicom(data, max_pixels=self.max_pixels)
        ds = image.dataset
        sop_uid = self.deid.remap_uid(image.sop_instance_uid)
        exam_key = "dicom:" + self.deid.remap_uid(image.study_instance_uid)
        if sop_uid in self.sop_uids or Image.objects.filter(sop_instance_uid=sop_uid).exists():
            rejection = RejectedFile("duplicate_sop_instance_uid",
                                     "an image with this SOP Instance UID is already imported"
                                     + (" (earlier in this upload)" if sop_uid in self.sop_uids else ""))
            rejection.study_instance_uid = image.study_instance_uid
            raise rejection
        self.sop_uids.add(sop_uid)
        original_exam_id = str(ds.get("AccessionNumber", "") or "").strip() or image.study_instance_uid
        attributes = {"age_band": age_band(ds)} if age_band(ds) else {}
        deidentified = self.deid.deidentify(ds)
        result.warnings.extend(image.warnings + deidentified.warnings)
        try:
            written = self._write_staged(image, lambda out: write_dicom(ds, out), ".dcm")
        except RejectedFile as rejection:
            rejection.study_instance_uid = image.study_instance_uid  # the whole exam fails with it
            raise
        self._staged(result, image, exam_key, self.deid.pseudonym(original_exam_id, "EX"), Exam.Source.DICOM,
                     sop_uid, written, pseudo_patient_id=deidentified.patient_pseudonym,
                     remapped_study_uid=str(ds.StudyInstanceUID),
                     original={"patient_id": deidentified.original.get("PatientID", ""),
                               "patient_name": deidentified.original.get("PatientName", ""),
                               "study_instance_uid": image.study_instance_uid,
                               "accession_number": deidentified.original.get("AccessionNumber", "")},
                     date_offset_days=deidentified.date_offset_days, attributes=attributes)

    def _write_staged(self, image: MammoImage, write_source, suffix: str) -> tuple[dict[str, Path], str]:
        """Stored copy (with its checksum) and pixel derivative written as temporary files by
        worker threads (ISA-L and file writes release the GIL) while this thread renders the
        preview. Returns the files and the stored copy's checksum; a failed write rejects the
        file (storage_error for the disk, processing_error for anything else)."""
        token = uuid.uuid4().hex
        files = {"source": self.staging / f"{token}-source{suffix}",
                 "pixels": self.staging / f"{token}-pixels{PIXELS_SUFFIX}",
                 "preview": self.staging / f"{token}-preview.png"}
        pixels = image.pixels

        def compress():
            with files["pixels"].open("wb") as out:
                derivatives.write_pixel_planes(pixels, out)

        def store() -> str:
            with files["source"].open("wb") as raw:
                summing = _ChecksumWriter(raw)
                write_source(summing)
            return summing.checksum()

        pending = [_STAGE_POOL.submit(compress), _STAGE_POOL.submit(store)]
        try:
            files["preview"].write_bytes(derivatives.preview_png(image, image.value_range))
        finally:
            errors = [error for error in (future.exception() for future in pending) if error is not None]
        if errors and isinstance(errors[0], OSError):
            raise RejectedFile("storage_error", f"the image could not be stored: {errors[0]}")
        if errors:
            logger.error("writing the files of an image failed unexpectedly", exc_info=errors[0])
            raise RejectedFile("processing_error")
        return files, pending[1].result()

    def _staged(self, result, image, exam_key, label, source, sop_uid, written, **extra) -> None:
        files, checksum = written
        shape = (image.rows, image.columns)
        value_range = image.value_range
        image.pixels = image.pixels[:1, :1].copy()  # keep metadata only: memory for one image at a time
        image.dataset = None
        result.view = image.view
        self.staged.append(StagedImage(result, exam_key, label, source, image, sop_uid, value_range, shape,
                                       files, files["source"].name[:12], checksum, **extra))

    def _hold_png(self, result: FileResult, source: SourceFile) -> None:
        base = source.base_name
        if base in self.pending_pngs:
            raise RejectedFile("invalid_exam_list", f"another PNG named {base!r} is in this import")
        path = self.staging / (uuid.uuid4().hex + ".in.png")
        path.write_bytes(source.data)
        self.pending_pngs[base] = (result, path)

    # ---- PNG exams -----------------------------------------------------------------------
    def resolve_png_exams(self) -> None:
        claimed: set[str] = set()
        for list_result, listed in self.exam_lists:
            exam_key = "png:" + listed.exam_id
            label = self.deid.pseudonym(listed.exam_id, "EX")
            for view, base in listed.views.items():
                if base not in self.pending_pngs:
                    missing = FileResult(f"{list_result.name}: {base}", REJECTED)
                    self.report.results.append(missing)
                    self._reject(missing, RejectedFile(
                        "missing_exam_file", f"exam {listed.exam_id!r} names {base!r} for {view}, "
                                             "which is not in this import"), exam_key)
                    continue
                result, path = self.pending_pngs[base]
                claimed.add(base)
                try:
                    image = read_png(path.read_bytes(), view, listed.horizontal_flip, max_pixels=self.max_pixels)
                    sop_uid = self.deid.remap_uid(f"png:{listed.exam_id}:{view}")
                    if Image.objects.filter(sop_instance_uid=sop_uid).exists():
                        raise RejectedFile("duplicate_sop_instance_uid",
                                           f"exam {listed.exam_id!r} {view} is already imported")
                    written = self._write_staged(image, lambda out, px=image.pixels: _write_clean_png(px, out),
                                                 ".png")
                except RejectedFile as rejection:
                    self._reject(result, rejection, exam_key)
                    continue
                finally:
                    path.unlink(missing_ok=True)
                self._staged(result, image, exam_key, label, Exam.Source.PNG, sop_uid, written,
                             original={"accession_number": listed.exam_id})
        for base, (result, _path) in self.pending_pngs.items():
            if base not in claimed:
                self._reject(result, RejectedFile("unlisted_png", f"no exam list in this import names {base!r}"))

    # ---- committing ----------------------------------------------------------------------
    def commit(self) -> None:
        exams: dict[str, list[StagedImage]] = {}
        for staged in self.staged:
            exams.setdefault(staged.exam_key, []).append(staged)
        for exam_key, images in exams.items():
            failure = self.failed_exams.get(exam_key) or _duplicate_view(images)
            if failure is not None:
                for staged in images:
                    if staged.result is not failure:
                        staged.result.status, staged.result.reason = REJECTED, "exam_failed"
                        staged.result.message = (f"not stored: {failure.name} of the same exam was rejected "
                                                 f"({failure.reason})")
                continue
            self._commit_exam(images)

    def _commit_exam(self, images: list[StagedImage]) -> None:
        first = images[0]
        moved: list[Path] = []
        try:
            with transaction.atomic():
                exam = self._exam_for(first)
                taken = set(exam.images.values_list("view", flat=True))
                clash = [staged for staged in images if staged.image.view in taken]
                if clash:
                    raise RejectedFile("duplicate_view", f"exam {exam.label} already has {clash[0].image.view}")
                for staged in images:
                    row = self._image_row(exam, staged, moved)
                    staged.result.image_id = row.pk
                audit.record(self.user, "exams.import", exam, request=self.request, images=len(images),
                             views=sorted(staged.image.view for staged in images), source=first.source)
        except RejectedFile as rejection:
            _remove(moved)
            for staged in images:
                staged.result.status, staged.result.reason, staged.result.message = (
                    REJECTED, rejection.reason_code, rejection.message)
            return
        except (DatabaseError, OSError) as exc:  # constraint races, locked database, full disk
            _remove(moved)
            for staged in images:
                staged.result.status, staged.result.reason = REJECTED, "storage_error"
                staged.result.message = f"the exam could not be stored: {exc}"
            return
        except BaseException:
            _remove(moved)
            raise
        for staged in images:
            staged.result.status, staged.result.exam = IMPORTED, exam.label
        if exam.label not in self.report.exams:
            self.report.exams.append(exam.label)

    def _exam_for(self, staged: StagedImage) -> Exam:
        exam = None
        if staged.remapped_study_uid:
            exam = Exam.objects.filter(study_instance_uid=staged.remapped_study_uid).first()
        if exam is None:
            exam = Exam.objects.filter(label=staged.label).first()
            if exam is not None and staged.remapped_study_uid and exam.study_instance_uid != staged.remapped_study_uid:
                raise RejectedFile("exam_conflict", f"another study with the same accession number is "
                                                    f"already imported as {exam.label}")
        if exam is None:
            exam = Exam.objects.create(label=staged.label, source=staged.source,
                                       study_instance_uid=staged.remapped_study_uid,
                                       pseudo_patient_id=staged.pseudo_patient_id, attributes=staged.attributes,
                                       imported_by=self.user if getattr(self.user, "is_authenticated", False) else None)
            if self.keep_identifier_map:
                IdentifierMap.objects.create(
                    exam=exam, original_patient_id=staged.original.get("patient_id", ""),
                    original_patient_name=staged.original.get("patient_name", ""),
                    original_study_instance_uid=staged.original.get("study_instance_uid", ""),
                    original_accession_number=staged.original.get("accession_number", ""),
                    date_offset_days=staged.date_offset_days)
        return exam

    def _image_row(self, exam: Exam, staged: StagedImage, moved: list[Path]) -> Image:
        image = staged.image
        token = staged.token
        names = {
            "source": f"images/{exam.label}/{image.view}-{token}{staged.files['source'].suffix}",
            "pixels": f"derivatives/{exam.label}/{image.view}-{token}{PIXELS_SUFFIX}",
            "preview": f"derivatives/{exam.label}/{image.view}-{token}.preview.png",
        }
        media = Path(settings.MEDIA_ROOT)
        for key, name in names.items():
            target = media / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise RejectedFile("storage_error", f"{name} already exists")
            os.replace(staged.files[key], target)
            moved.append(target)
        return Image.objects.create(
            exam=exam, view=image.view, sop_instance_uid=staged.sop_instance_uid,
            rows=staged.shape[0], columns=staged.shape[1], bits_stored=image.bits_stored,
            photometric_interpretation=image.photometric, rescale_slope=image.rescale_slope,
            rescale_intercept=image.rescale_intercept,
            windows=[{"center": w.center, "width": w.width, "explanation": w.explanation} for w in image.windows],
            voi_lut_function=image.voi_lut_function,
            voi_lut=None if image.voi_lut is None else {"first_mapped": image.voi_lut.first_mapped,
                                                        "bits": image.voi_lut.bits, "data": image.voi_lut.data},
            pixel_spacing=list(image.pixel_spacing) if image.pixel_spacing else None,
            patient_orientation="\\".join(image.patient_orientation)[:16],
            flip_horizontal=image.flip_horizontal,
            source_file=names["source"], pixels_file=names["pixels"], preview_file=names["preview"],
            checksum=staged.checksum, pixel_min=staged.value_range[0], pixel_max=staged.value_range[1])


def age_band(ds) -> str:
    """The patient's age at the study as a ten-year band ("50-59"; "90+" above 89, as HIPAA's Safe
    Harbor asks), from Patient's Age or else the birth and study dates; "" when unknown."""
    age = None
    text = str(ds.get("PatientAge", "") or "").strip().upper()
    if len(text) == 4 and text[:3].isdigit() and text[3] == "Y":
        age = int(text[:3])
    else:
        birth, study = str(ds.get("PatientBirthDate", "") or ""), str(ds.get("StudyDate", "") or "")
        if len(birth) >= 8 and len(study) >= 8 and birth[:8].isdigit() and study[:8].isdigit():
            age = int(study[:4]) - int(birth[:4]) - ((study[4:8]) < (birth[4:8]))
    if age is None or not 0 <= age < 150:
        return ""
    return "90+" if age >= 90 else f"{age // 10 * 10}-{age // 10 * 10 + 9}"


def _duplicate_view(images: list[StagedImage]) -> FileResult | None:
    seen: set[str] = set()
    for staged in images:
        if staged.image.view in seen:
            staged.result.status, staged.result.reason = REJECTED, "duplicate_view"
            staged.result.message = f"this import has two {staged.image.view} images for the same exam"
            return staged.result
        seen.add(staged.image.view)
    return None


def _remove_stale_staging(root: Path, max_age_s: float = 24 * 3600) -> None:
    """Staging folders of imports killed mid-way (power cut, OOM) are removed a day later; a live
    import never takes that long."""
    if not root.is_dir():
        return
    now = time.time()
    for folder in root.iterdir():
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _write_clean_png(pixels, out) -> None:
    """Re-encode a PNG from its pixels alone: text chunks of the upload (possible identifiers) go."""
    PILImage.fromarray(pixels).save(out, format="PNG", compress_level=1)


class _ChecksumWriter(io.RawIOBase):
    """A write-only file that checksums what passes through (saves re-reading the stored copy)."""

    def __init__(self, raw):
        super().__init__()
        self.raw, self.crc, self.position = raw, 0, 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.crc = isal_zlib.crc32(data, self.crc)
        written = self.raw.write(data)
        self.position += len(data)
        return written if written is not None else len(data)

    def tell(self) -> int:
        return self.position

    def seekable(self) -> bool:
        return False

    def checksum(self) -> str:
        return f"crc32:{self.crc & 0xFFFFFFFF:08x}"
