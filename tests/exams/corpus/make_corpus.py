"""Write the hostile-file corpus of tests/exams/corpus/ and its manifest (expected reason per file).

Run from the repository root: `.venv/bin/python tests/exams/corpus/make_corpus.py`. The files are
small and committed; the corpus test imports them all in one batch with
INGEST_MAX_FILE_BYTES = 65536 and INGEST_MAX_PIXELS = 512 * 512 (see CORPUS_SETTINGS below).
Every file is synthetic.
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless, RLELossless

HERE = Path(__file__).resolve().parent
CORPUS_SETTINGS = {"INGEST_MAX_FILE_BYTES": 65536, "INGEST_MAX_PIXELS": 512 * 512}
MG = "1.2.840.10008.5.1.4.1.1.1.2"
MPEG2 = UID("1.2.840.10008.1.2.4.100")


def mg_dataset(tag: str, rows: int = 32, columns: int = 32, **overrides) -> Dataset:
    """A small valid MG image; `tag` makes its UIDs unique (each corpus file its own study)."""
    root = "1.2.826.0.1.3680043.10.1234."
    number = sum(ord(c) * 31 ** i for i, c in enumerate(tag)) % 10 ** 12
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MG
    meta.MediaStorageSOPInstanceUID = f"{root}1.{number}"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MG
    ds.SOPInstanceUID = f"{root}1.{number}"
    ds.StudyInstanceUID = f"{root}2.{number}"
    ds.SeriesInstanceUID = f"{root}3.{number}"
    ds.PatientName = "CORPUS^HOSTILE"
    ds.PatientID = f"CORPUS-{tag}"
    ds.AccessionNumber = f"CORPUS-{tag}"[:16]
    ds.Modality = "MG"
    ds.ImageLaterality = "L"
    ds.ViewPosition = "CC"
    ds.PatientOrientation = ["A", "R"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    pixels = (np.arange(rows * columns, dtype=np.uint16) % 4096).reshape(rows, columns)
    ds.PixelData = pixels.tobytes()
    for keyword, value in overrides.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def dicom_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def build() -> dict[str, tuple[bytes, dict[str, str]]]:
    """file name -> (content, {result name: expected reason})."""
    files: dict[str, tuple[bytes, dict[str, str]]] = {}

    def add(name: str, data: bytes, expected: dict[str, str] | str):
        files[name] = (data, expected if isinstance(expected, dict) else {name: expected})

    add("wrong_modality.dcm", dicom_bytes(mg_dataset("modality", Modality="CT")), "wrong_modality")
    add("no_pixel_data.dcm", dicom_bytes(mg_dataset("nopixels", PixelData=None)), "no_pixel_data")
    add("unknown_view.dcm", dicom_bytes(mg_dataset("view", ViewPosition="LM")), "unknown_view")
    add("unknown_laterality.dcm", dicom_bytes(mg_dataset("laterality", ImageLaterality="B")), "unknown_laterality")
    add("missing_uid.dcm", dicom_bytes(mg_dataset("nouid", SOPInstanceUID=None)), "missing_uid")
    duplicate = dicom_bytes(mg_dataset("duplicate"))
    add("duplicate_sop_a.dcm", duplicate, "exam_failed")
    add("duplicate_sop_b.dcm", duplicate, "duplicate_sop_instance_uid")
    whole = dicom_bytes(mg_dataset("truncated"))
    add("truncated_pixels.dcm", whole[:-500], "truncated_file")
    header_only = dicom_bytes(mg_dataset("truncatedheader", InstitutionName="X" * 60))
    add("truncated_header.dcm", header_only[:header_only.index(b"XXXX") + 20], "truncated_file")
    rle = mg_dataset("truncatedrle")
    rle.compress(RLELossless)
    add("truncated_rle.dcm", dicom_bytes(rle)[:-40], "truncated_file")
    mpeg = mg_dataset("mpeg")
    mpeg.file_meta.TransferSyntaxUID = MPEG2
    mpeg.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 60])
    add("unsupported_transfer_syntax.dcm", dicom_bytes(mpeg), "unsupported_transfer_syntax")
    broken_j2k = mg_dataset("brokenj2k")
    broken_j2k.file_meta.TransferSyntaxUID = JPEG2000Lossless
    broken_j2k.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x13" * 124])
    add("corrupt_jpeg2000.dcm", dicom_bytes(broken_j2k), "corrupt_pixel_data")
    add("color.dcm", dicom_bytes(mg_dataset("color", SamplesPerPixel=3, PhotometricInterpretation="RGB")),
        "unsupported_pixel_format")
    add("declared_too_large.dcm", dicom_bytes(mg_dataset("declared", Rows=4096, Columns=4096)), "image_too_large")
    add("over_size_limit.dcm", dicom_bytes(mg_dataset("oversize", rows=192, columns=192)), "file_too_large")
    no_preamble = dicom_bytes(mg_dataset("preamble"))[132:]
    add("no_preamble.dcm", no_preamble, "not_dicom_or_png")
    add("not_an_image.txt", b"This is a text file, not a mammogram.\n", "not_dicom_or_png")
    add("fake.dcm", b"\x00" * 300, "not_dicom_or_png")
    png_ok = png_bytes(np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) * 16)
    add("corrupt.png", png_ok[:60] + b"\x00garbage" * 8, "corrupt_png")
    add("exam_list_corrupt.json", json.dumps([{"exam_id": "CORPUS-PNG-1", "horizontal_flip": "NO",
                                               "L-CC": "corrupt.png", "R-CC": "listed_ok.png"}]).encode(),
        {"exam_list_corrupt.json": "exam_list"})
    add("listed_ok.png", png_ok, "exam_failed")
    add("rgb.png", png_bytes(np.zeros((16, 16, 3), dtype=np.uint8)), "unsupported_png_format")
    add("exam_list_rgb.json", json.dumps([{"exam_id": "CORPUS-PNG-2", "L-CC": ["rgb"]}]).encode(), "exam_list")
    add("exam_list_missing.json", json.dumps([{"exam_id": "CORPUS-PNG-3", "horizontal_flip": "NO",
                                               "L-CC": "not_supplied.png", "R-CC": "listed_present.png"}]).encode(),
        {"exam_list_missing.json": "exam_list", "exam_list_missing.json: not_supplied.png": "missing_exam_file"})
    add("listed_present.png", png_ok, "exam_failed")
    add("unlisted.png", png_ok, "unlisted_png")
    add("bad_exam_list.json", b'[{"exam_id": "X", "L-CC": ', "invalid_exam_list")
    inner = dicom_bytes(mg_dataset("zipped"))
    add("absolute_path.zip", zip_bytes({"/tmp/evil.dcm": inner}),
        {"absolute_path.zip//tmp/evil.dcm": "zip_absolute_path"})
    add("parent_path.zip", zip_bytes({"../../evil.dcm": inner}), {"parent_path.zip/../../evil.dcm": "zip_parent_path"})
    add("zip_bomb.zip", zip_bytes({"bomb.dcm": b"\x00" * (8 * 1024 * 1024)}), {"zip_bomb.zip/bomb.dcm": "zip_bomb"})
    add("nested.zip", zip_bytes({"inner.zip": zip_bytes({"a.dcm": inner})}), {"nested.zip/inner.zip": "nested_archive"})
    add("corrupt.zip", b"PK\x03\x04" + b"\x00" * 200, {"corrupt.zip": "corrupt_zip"})
    return files


def main() -> int:
    files = build()
    manifest = {}
    for name, (data, expected) in sorted(files.items()):
        (HERE / name).write_bytes(data)
        manifest.update(expected)
    (HERE / "manifest.json").write_text(json.dumps({"settings": CORPUS_SETTINGS, "expected": manifest},
                                                   indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(files)} files, {len(manifest)} expected results, to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
