"""Why a file was refused at import: one exception, one stable code per reason.

The codes are part of the interface: the upload page, the API and the import command show them,
and the hostile-file corpus in tests/exams/corpus/ lists the code it expects for every file.
"""
from __future__ import annotations

REASONS: dict[str, str] = {
    "not_dicom_or_png": "the file is neither DICOM, a PNG, a zip archive nor an exam list",
    "corrupt_dicom": "the DICOM file cannot be parsed",
    "truncated_file": "the file ends before its declared content",
    "wrong_modality": "the Modality is not MG (mammography)",
    "no_pixel_data": "the DICOM file holds no pixel data",
    "unsupported_transfer_syntax": "the transfer syntax cannot be decoded here",
    "unsupported_pixel_format": "the pixel format is not single-sample greyscale of 8 or 16 bits",
    "corrupt_pixel_data": "the pixel data cannot be decoded",
    "image_too_large": "the declared image size exceeds the configured maximum",
    "file_too_large": "the file exceeds the configured size limit",
    "unknown_view": "the view is not CC or MLO",
    "unknown_laterality": "the laterality is not L or R",
    "missing_uid": "a required UID is missing",
    "duplicate_sop_instance_uid": "an image with this SOP Instance UID was already imported",
    "duplicate_view": "the exam already has an image for this view",
    "exam_conflict": "another study with the same accession number or exam id is already imported",
    "corrupt_png": "the PNG file cannot be decoded",
    "unsupported_png_format": "the PNG is not single-channel greyscale",
    "invalid_exam_list": "the exam list is malformed",
    "missing_exam_file": "the exam list names a file that was not supplied",
    "unlisted_png": "no exam list names this PNG file",
    "zip_absolute_path": "a zip entry has an absolute path",
    "zip_parent_path": "a zip entry name climbs out of the archive with '..'",
    "zip_bomb": "the archive expands far beyond its size",
    "corrupt_zip": "the zip archive cannot be read",
    "nested_archive": "archives inside archives are not expanded",
    "exam_failed": "another file of the same exam was rejected, so the exam was not stored",
    "storage_error": "the file could not be stored",
    "processing_error": "the file could not be processed (the details are in the server log)",
}


class RejectedFile(Exception):
    """A file that must not be imported, with a stable reason code and a specific message."""

    def __init__(self, reason_code: str, message: str | None = None):
        if reason_code not in REASONS:
            raise ValueError(f"unknown rejection reason {reason_code!r}")
        self.reason_code = reason_code
        self.message = message or REASONS[reason_code]
        # Set when the file could be tied to a study: the whole exam then fails with it.
        self.study_instance_uid = ""
        super().__init__(f"{reason_code}: {self.message}")
