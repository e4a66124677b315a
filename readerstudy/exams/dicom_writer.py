"""Write the stored (de-identified) DICOM copy of an imported file (no Django here).

pydicom writes every element through an in-memory buffer, which for a 4096 x 3328 mammogram
means copying 27 MB of Pixel Data twice before the file write. When the Pixel Data is native
little-endian, the last element, and a view of the imported file's bytes (as `dicom_reader`
leaves it), pydicom writes everything before it and the element is appended here straight from
those bytes: the same file, byte for byte. Anything else goes through pydicom unchanged.
"""
from __future__ import annotations

import struct
from typing import BinaryIO

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

PIXEL_DATA_TAG = 0x7FE00010


def write_dicom(ds: Dataset, out: BinaryIO) -> None:
    element = ds._dict.get(PIXEL_DATA_TAG)
    if not _can_append(ds, element):
        ds.save_as(out, enforce_file_format=True)
        return
    # A new element dictionary without the pixels (Dataset(ds) would share the caller's).
    header = Dataset({tag: item for tag, item in ds._dict.items() if tag != PIXEL_DATA_TAG})
    header.file_meta = ds.file_meta
    header.preamble = ds.preamble
    header.save_as(out, enforce_file_format=True)
    implicit = ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    tag = struct.pack("<HH", 0x7FE0, 0x0010)
    length = struct.pack("<I", len(element.value))
    out.write(tag + length if implicit else tag + element.VR.encode() + b"\0\0" + length)
    out.write(element.value)


def _can_append(ds: Dataset, element) -> bool:
    syntax = ds.file_meta.get("TransferSyntaxUID")
    return (element is not None and isinstance(element.value, memoryview) and len(element.value) % 2 == 0
            and max(ds._dict) == PIXEL_DATA_TAG
            and (syntax == ImplicitVRLittleEndian or (syntax == ExplicitVRLittleEndian
                                                      and element.VR in ("OB", "OW"))))

