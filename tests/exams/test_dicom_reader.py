"""Parsing and validating one DICOM file (pure: no database)."""
import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, JPEGLSLossless, RLELossless

from readerstudy.exams import phantoms
from readerstudy.exams.dicom_reader import read_dicom
from readerstudy.exams.rejections import RejectedFile
from tests.exams.conftest import SMALL, dicom_bytes
from tests.exams.jpeg_lossless import encode as jpeg_lossless
from tests.exams.jpeg_ls import encode as jpeg_ls

EXAM = phantoms.make_exam(1, SMALL, seed=9)


def dataset(view="L-CC", **overrides):
    ds = phantoms.phantom_dataset(EXAM, view, EXAM.views[view], 9, 1)
    for keyword, value in overrides.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    return ds


def refused(ds_or_bytes, **kwargs) -> RejectedFile:
    data = ds_or_bytes if isinstance(ds_or_bytes, bytes) else dicom_bytes(ds_or_bytes)
    with pytest.raises(RejectedFile) as caught:
        read_dicom(data, **kwargs)
    return caught.value


@pytest.mark.parametrize("view", phantoms.VIEWS)
def test_phantom_views_read_back(view):
    image = read_dicom(dicom_bytes(dataset(view)))
    assert image.view == view and image.laterality == view[0]
    assert image.pixels.dtype == np.uint16 and np.array_equal(image.pixels, EXAM.views[view])
    assert image.bits_stored == 12 and image.photometric == "MONOCHROME2" and not image.invert
    assert [(w.center, w.width, w.explanation) for w in image.windows] == [
        (2048.0, 4096.0, "FULL RANGE"), (1900.0, 2200.0, "STANDARD")]
    assert image.pixel_spacing_source == "PixelSpacing"
    assert image.flip_horizontal is False and image.orientation_source == "patient_orientation"
    assert image.warnings == []


def test_laterality_and_view_fall_back_to_laterality_and_view_code_sequence():
    image = read_dicom(dicom_bytes(dataset("R-MLO", ImageLaterality=None, Laterality="R", ViewPosition=None)))
    assert image.view == "R-MLO"
    legacy = Dataset()
    legacy.CodeValue, legacy.CodingSchemeDesignator, legacy.CodeMeaning = "R-10242", "SRT", "cranio-caudal"
    image = read_dicom(dicom_bytes(dataset("L-MLO", ViewPosition="", ViewCodeSequence=Sequence([legacy]))))
    assert image.view == "L-CC"


@pytest.mark.parametrize("overrides, reason", [
    ({"Modality": "CR"}, "wrong_modality"),
    ({"Modality": None}, "wrong_modality"),
    ({"PixelData": None}, "no_pixel_data"),
    ({"ImageLaterality": "B"}, "unknown_laterality"),
    ({"ImageLaterality": None}, "unknown_laterality"),
    ({"ViewPosition": "ML", "ViewCodeSequence": None}, "unknown_view"),
    ({"SOPInstanceUID": None}, "missing_uid"),
    ({"StudyInstanceUID": None}, "missing_uid"),
    ({"SamplesPerPixel": 3}, "unsupported_pixel_format"),
    ({"BitsAllocated": 32}, "unsupported_pixel_format"),
    ({"NumberOfFrames": 2}, "unsupported_pixel_format"),
])
def test_invalid_headers_are_refused_with_specific_reasons(overrides, reason):
    assert refused(dataset(**overrides)).reason_code == reason


def test_declared_size_is_checked_before_decoding():
    rejection = refused(dataset(Rows=60000, Columns=60000), max_pixels=8192 * 8192)
    assert rejection.reason_code == "image_too_large" and "60000 x 60000" in rejection.message


def test_truncation_inside_an_element_is_detected():
    data = dicom_bytes(dataset())
    assert refused(data[:-10]).reason_code == "truncated_file"  # inside the pixel data
    institution = data.index(b"Synthetic Phantom Institute")
    assert refused(data[:institution + 5]).reason_code == "truncated_file"  # inside a header value
    for cut in range(1, 8):  # inside the next element's tag, VR or length
        assert refused(data[:institution + 50 + cut]).reason_code in ("truncated_file", "corrupt_dicom")


def test_not_dicom():
    assert refused(b"hello" * 100).reason_code == "not_dicom_or_png"
    assert refused(b"\x00" * 128 + b"DICM" + b"\xff" * 64).reason_code in ("corrupt_dicom", "truncated_file")


def test_rejection_remembers_the_study_so_the_exam_can_fail_as_a_whole():
    assert refused(dataset(ViewPosition="ML", ViewCodeSequence=None)).study_instance_uid == EXAM.study_uid


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless])
def test_compressed_transfer_syntaxes_decode_exactly(syntax):
    ds = dataset()
    ds.compress(syntax)
    image = read_dicom(dicom_bytes(ds))
    assert image.transfer_syntax == syntax
    assert np.array_equal(image.pixels, EXAM.views["L-CC"])


@pytest.mark.parametrize("syntax, encoder", [(JPEGLosslessSV1, jpeg_lossless), (JPEGLSLossless, jpeg_ls)])
def test_jpeg_lossless_and_jpeg_ls_decode_exactly(syntax, encoder):
    """Streams from the small test encoders in tests/exams (pydicom cannot encode these here)."""
    ds = dataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = encapsulate([encoder(EXAM.views["L-CC"], 12)])
    image = read_dicom(dicom_bytes(ds))
    assert image.transfer_syntax == syntax
    assert np.array_equal(image.pixels, EXAM.views["L-CC"])


def test_monochrome1_signed_data_is_normalised_without_changing_modality_values():
    signed = (EXAM.views["L-CC"].astype(np.int32) - 2048).astype(np.int16)
    ds = dataset(PhotometricInterpretation="MONOCHROME1", PixelRepresentation=1, RescaleIntercept=10,
                 RescaleSlope=2, PixelData=signed.tobytes())
    image = read_dicom(dicom_bytes(ds))
    assert image.invert and image.pixels.dtype == np.uint16
    modality = image.pixels.astype(np.float64) * image.rescale_slope + image.rescale_intercept
    assert np.array_equal(modality, signed.astype(np.float64) * 2 + 10)


def test_voi_lut_sequence_and_function():
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    item.add_new(0x00283006, "US", list(range(4095, -1, -1)))  # LUT Data
    image = read_dicom(dicom_bytes(dataset(VOILUTSequence=Sequence([item]), VOILUTFunction="SIGMOID")))
    assert image.voi_lut.first_mapped == 0 and image.voi_lut.bits == 12 and image.voi_lut.data[:2] == [4095, 4094]
    assert image.voi_lut_function == "SIGMOID"
    odd = read_dicom(dicom_bytes(dataset(VOILUTFunction="CUBIC")))
    assert odd.voi_lut_function == "LINEAR" and odd.warnings


def test_imager_pixel_spacing_is_the_fallback():
    image = read_dicom(dicom_bytes(dataset(PixelSpacing=None, ImagerPixelSpacing=[0.1, 0.1])))
    assert image.pixel_spacing == (0.1, 0.1) and image.pixel_spacing_source == "ImagerPixelSpacing"
    assert read_dicom(dicom_bytes(dataset(PixelSpacing=None, ImagerPixelSpacing=None))).pixel_spacing is None


@pytest.mark.parametrize("view", phantoms.VIEWS)
def test_orientation_from_patient_orientation_and_content(view):
    mirrored = np.ascontiguousarray(EXAM.views[view][:, ::-1])
    row, column = phantoms.PATIENT_ORIENTATION[view]
    flipped_row = {"A": "P", "P": "A"}[row]
    by_tag = read_dicom(dicom_bytes(dataset(view, PixelData=mirrored.tobytes(),
                                            PatientOrientation=[flipped_row, column])))
    assert by_tag.flip_horizontal is True and by_tag.orientation_source == "patient_orientation"
    by_content = read_dicom(dicom_bytes(dataset(view, PixelData=mirrored.tobytes(), PatientOrientation=None)))
    assert by_content.flip_horizontal is True and by_content.orientation_source == "image_content"
    upright = read_dicom(dicom_bytes(dataset(view, PatientOrientation=None)))
    assert upright.flip_horizontal is False and upright.orientation_source == "image_content"


def test_tag_and_content_disagreeing_is_warned_about():
    mirrored = np.ascontiguousarray(EXAM.views["L-CC"][:, ::-1])
    image = read_dicom(dicom_bytes(dataset(PixelData=mirrored.tobytes())))  # tag still says A\R
    assert image.flip_horizontal is False and any("content" in w for w in image.warnings)


def test_burned_in_annotation_is_read():
    assert read_dicom(dicom_bytes(dataset(BurnedInAnnotation="YES"))).burned_in_annotation is True
    assert read_dicom(dicom_bytes(dataset())).burned_in_annotation is False


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom comments on the mangled UIDs
def test_mutated_files_are_refused_never_crashed():
    """Random byte changes in the header: every outcome is an image or a RejectedFile."""
    import random

    data = dicom_bytes(dataset())
    header_end = data.index(b"\xe0\x7f\x10\x00") + 12
    rng = random.Random(20261127)
    outcomes = set()
    for _ in range(400):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(132, header_end)] = rng.randrange(256)
        try:
            read_dicom(bytes(mutated))
            outcomes.add("read")
        except RejectedFile as rejection:
            outcomes.add(rejection.reason_code)
    assert {"read", "truncated_file", "corrupt_dicom"} <= outcomes
