"""The stored copy's writer (pure): byte for byte what pydicom writes, with or without the
zero-copy Pixel Data path."""
import io

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless

from readerstudy.exams import phantoms
from readerstudy.exams.deidentify import Deidentifier
from readerstudy.exams.dicom_reader import DEFER_BYTES, read_dicom
from readerstudy.exams.dicom_writer import PIXEL_DATA_TAG, _can_append, write_dicom

SIZE = (1024, 832)  # Pixel Data over DEFER_BYTES: the zero-copy path


def imported(syntax=ExplicitVRLittleEndian, trailing=False):
    exam = phantoms.make_exam(1, SIZE, seed=3)
    view, pixels = next(iter(exam.views.items()))
    ds = phantoms.phantom_dataset(exam, view, pixels, 3, 1)
    if syntax == RLELossless:
        ds.compress(RLELossless)
    else:
        ds.file_meta.TransferSyntaxUID = syntax
    if trailing:
        ds.add_new(0xFFFCFFFC, "OB", b"\0" * 8)  # Data Set Trailing Padding after the pixels
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    image = read_dicom(buffer.getvalue())
    if not trailing:  # de-identification would remove the padding
        Deidentifier("secret").deidentify(image.dataset)
    return image, pixels


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless])
@pytest.mark.parametrize("trailing", [False, True])
def test_same_bytes_as_pydicom(syntax, trailing):
    image, pixels = imported(syntax, trailing)
    zero_copy = isinstance(image.dataset.PixelData, memoryview)
    assert zero_copy == (syntax != RLELossless)
    appended = _can_append(image.dataset, image.dataset._dict[PIXEL_DATA_TAG])
    assert appended == (zero_copy and not trailing)  # else pydicom writes it all
    ours, theirs = io.BytesIO(), io.BytesIO()
    write_dicom(image.dataset, ours)
    image.dataset.save_as(theirs, enforce_file_format=True)
    assert ours.getvalue() == theirs.getvalue()
    stored = pydicom.dcmread(io.BytesIO(ours.getvalue()))
    assert np.array_equal(stored.pixel_array, pixels)
    assert 0x7FE00010 in image.dataset  # the caller's data set keeps its pixels


def test_pixel_data_is_a_view_of_the_file_only_when_large():
    assert SIZE[0] * SIZE[1] * 2 > DEFER_BYTES
    small = phantoms.make_exam(1, (64, 52), seed=3)
    view, pixels = next(iter(small.views.items()))
    buffer = io.BytesIO()
    phantoms.phantom_dataset(small, view, pixels, 3, 1).save_as(buffer, enforce_file_format=True)
    assert isinstance(read_dicom(buffer.getvalue()).dataset.PixelData, bytes)
