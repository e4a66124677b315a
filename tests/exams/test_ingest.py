"""The one import path: round trip, grouping, all-or-nothing, duplicates, identifier map, audit."""
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.db import IntegrityError, OperationalError
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, JPEGLSLossless, RLELossless

from readerstudy.audit.models import AuditEvent
from readerstudy.exams import derivatives, phantoms
from readerstudy.exams.derivatives import decode_pixel_planes
from readerstudy.exams.dicom_reader import read_dicom
from readerstudy.exams.ingest import find_exam, ingest_paths
from readerstudy.exams.models import Exam, IdentifierMap, Image
from readerstudy.exams.pixels import image_header_payload
from tests.exams.conftest import SMALL, dicom_bytes, files_under
from tests.exams.jpeg_lossless import encode as jpeg_lossless
from tests.exams.jpeg_ls import encode as jpeg_ls

pytestmark = pytest.mark.django_db


def stored_pixels(image: Image) -> np.ndarray:
    return decode_pixel_planes(Path(image.pixels_file.path).read_bytes(), image.rows, image.columns)


def test_phantom_round_trip_pixels_are_exact(media_root, phantom_dir):
    report = ingest_paths([phantom_dir])
    assert report.imported == 8 and report.rejected == 0
    assert len(report.exams) == 2
    for image in Image.objects.select_related("exam__identifier_map"):
        accession = image.exam.identifier_map.original_accession_number
        source = phantom_dir / f"{accession}_{image.view.replace('-', '_')}.dcm"
        expected = pydicom.dcmread(source).pixel_array
        assert np.array_equal(stored_pixels(image), expected)
        stored = pydicom.dcmread(image.source_file.path)
        assert np.array_equal(stored.pixel_array, expected)
        assert (image.pixel_min, image.pixel_max) == (int(expected.min()), int(expected.max()))


def test_images_group_by_study_and_carry_display_parameters(media_root, phantom_dir):
    ingest_paths([phantom_dir])
    for exam in Exam.objects.all():
        assert sorted(exam.images.values_list("view", flat=True)) == ["L-CC", "L-MLO", "R-CC", "R-MLO"]
        assert exam.source == Exam.Source.DICOM
        for image in exam.images.all():
            assert (image.rows, image.columns, image.bits_stored) == (*SMALL, 12)
            assert image.windows[0] == {"center": 2048.0, "width": 4096.0, "explanation": "FULL RANGE"}
            assert image.voi_lut_function == "LINEAR"
            assert image.pixel_spacing[0] == pytest.approx(0.07 * 4096 / SMALL[0])
            assert image.flip_horizontal is False  # phantoms are stored in the hanging orientation
            assert image.patient_orientation in ("A\\R", "P\\L", "A\\F", "P\\F")


def test_header_endpoint_payload_matches_the_derivative_contract(media_root, phantom_dir):
    ingest_paths([phantom_dir])
    image = Image.objects.filter(view="R-MLO").first()
    parsed = read_dicom(Path(image.source_file.path).read_bytes())
    parsed.pixels = stored_pixels(image)
    expected = derivatives.header(parsed, (image.pixel_min, image.pixel_max))
    assert json.loads(json.dumps(image_header_payload(image))) == json.loads(json.dumps(expected))


def test_preview_is_small_and_in_the_stored_orientation(media_root, tmp_path):
    out = tmp_path / "big"
    phantoms.generate(1, out, size=(2100, 1700), seed=3)
    ingest_paths([out])
    from PIL import Image as PILImage

    for image in Image.objects.all():
        preview = PILImage.open(image.preview_file.path)
        assert preview.mode == "L" and preview.size[1] <= 1024
        grey = np.asarray(preview, dtype=np.float64)
        left, right = grey[:, :10].mean(), grey[:, -10:].mean()
        assert (left > right) == (image.view[0] == "L")  # chest wall (tissue) edge, not mirrored


def test_reimport_is_rejected_as_duplicate_and_stores_nothing_new(media_root, phantom_dir):
    ingest_paths([phantom_dir])
    before = files_under(media_root)
    report = ingest_paths([phantom_dir])
    reasons = {r.reason for r in report.results if r.name.endswith(".dcm")}
    assert reasons <= {"duplicate_sop_instance_uid", "exam_failed"}
    assert "duplicate_sop_instance_uid" in reasons
    assert Image.objects.count() == 8
    assert files_under(media_root) == before


def test_one_bad_file_keeps_its_whole_exam_out(media_root, phantom_dir):
    victim = next(phantom_dir.glob("*0001_R_MLO.dcm"))
    ds = pydicom.dcmread(victim)
    ds.ViewPosition = "XCCL"
    ds.ViewCodeSequence = []
    victim.write_bytes(dicom_bytes(ds))
    report = ingest_paths([phantom_dir])
    by_name = {Path(r.name).name: r for r in report.results}
    assert by_name[victim.name].reason == "unknown_view"
    for name, result in by_name.items():
        if "0001_" in name and name != victim.name:
            assert result.reason == "exam_failed" and "unknown_view" in result.message
    assert Exam.objects.count() == 1 and Image.objects.count() == 4


def test_missing_views_can_be_added_later(media_root, phantom_dir, tmp_path):
    first = [p for p in phantom_dir.glob("*0001_*.dcm") if "CC" in p.name]
    later = [p for p in phantom_dir.glob("*0001_*.dcm") if "MLO" in p.name]
    assert ingest_paths(first).imported == 2
    assert ingest_paths(later).imported == 2
    assert Exam.objects.count() == 1 and Image.objects.count() == 4


@pytest.mark.parametrize("error", [OSError("disk full (simulated)"), IntegrityError("race (simulated)"),
                                   OperationalError("database is locked (simulated)")])
def test_failure_while_storing_leaves_no_rows_and_no_files(media_root, phantom_dir, monkeypatch, error):
    calls = {"n": 0}
    real = Image.objects.create

    def flaky_create(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise error
        return real(**kwargs)

    monkeypatch.setattr(Image.objects, "create", flaky_create)
    report = ingest_paths([phantom_dir])
    failed = [r for r in report.results if r.reason == "storage_error"]
    assert len(failed) == 4  # the exam whose third image failed
    assert Exam.objects.count() == 1 and Image.objects.count() == 4
    exam = Exam.objects.get()
    stored = {Path(p).name for p in files_under(media_root)}
    expected = {Path(getattr(image, field).name).name for image in exam.images.all()
                for field in ("source_file", "pixels_file", "preview_file")}
    assert stored == expected  # no orphan of the failed exam, staging removed


def test_identifier_map_kept_or_not(media_root, phantom_dir):
    ingest_paths([phantom_dir], keep_identifier_map=True)
    mapping = IdentifierMap.objects.get(original_accession_number="PH-S7-0001")
    assert mapping.original_patient_id == "SYNTH-7-000001"
    assert mapping.original_patient_name == "PHANTOM^SYNTHETIC^0001"
    assert mapping.date_offset_days < 0
    Exam.objects.all().delete()
    for path in files_under(media_root):
        path.unlink()
    ingest_paths([phantom_dir], keep_identifier_map=False)
    assert IdentifierMap.objects.count() == 0 and Exam.objects.count() == 2


def test_exam_found_by_original_accession_number_or_label(media_root, phantom_dir):
    ingest_paths([phantom_dir], keep_identifier_map=False)
    exam = find_exam("PH-S7-0002")
    assert exam is not None and exam.label.startswith("EX-") and "PHANTOM" not in exam.label
    assert find_exam(exam.label) == exam
    assert find_exam("PH-S7-0099") is None


def test_import_is_audited(media_root, phantom_dir, make_user):
    user = make_user("coord", "coordinator")
    ingest_paths([phantom_dir], user=user)
    events = AuditEvent.objects.filter(action="exams.import")
    assert events.count() == 2
    assert {event.actor for event in events} == {user}
    assert all(event.details["images"] == 4 for event in events)


def test_mirrored_storage_sets_flip_from_patient_orientation(media_root, tmp_path):
    exam = phantoms.make_exam(1, SMALL, seed=5)
    ds = phantoms.phantom_dataset(exam, "L-CC", np.ascontiguousarray(exam.views["L-CC"][:, ::-1]), 5, 1)
    ds.PatientOrientation = ["P", "R"]  # rows now run towards the chest wall
    (tmp_path / "mirrored.dcm").write_bytes(dicom_bytes(ds))
    ingest_paths([tmp_path / "mirrored.dcm"])
    assert Image.objects.get().flip_horizontal is True


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless, JPEGLosslessSV1, JPEGLSLossless])
def test_compressed_dicom_round_trip(media_root, tmp_path, syntax):
    exam = phantoms.make_exam(1, (128, 104), seed=8)
    pixels = exam.views["R-CC"]
    ds = phantoms.phantom_dataset(exam, "R-CC", pixels, 8, 1)
    if syntax in (JPEGLosslessSV1, JPEGLSLossless):
        encoder = jpeg_lossless if syntax == JPEGLosslessSV1 else jpeg_ls
        ds.file_meta.TransferSyntaxUID = syntax
        ds.PixelData = encapsulate([encoder(pixels, 12)])
    else:
        ds.compress(syntax)
    (tmp_path / "in.dcm").write_bytes(dicom_bytes(ds))
    assert ingest_paths([tmp_path / "in.dcm"]).imported == 1
    image = Image.objects.get()
    assert np.array_equal(stored_pixels(image), pixels)
    stored = pydicom.dcmread(image.source_file.path)
    assert stored.file_meta.TransferSyntaxUID == syntax  # stored as received: no re-encoding
    assert np.array_equal(stored.pixel_array, pixels)


def test_a_different_study_with_the_same_accession_number_is_refused(media_root, tmp_path):
    exam = phantoms.make_exam(1, SMALL, seed=6)
    first = phantoms.phantom_dataset(exam, "L-CC", exam.views["L-CC"], 6, 1)
    (tmp_path / "a.dcm").write_bytes(dicom_bytes(first))
    assert ingest_paths([tmp_path / "a.dcm"]).imported == 1
    second = phantoms.phantom_dataset(exam, "R-CC", exam.views["R-CC"], 6, 1)
    second.StudyInstanceUID = "1.2.826.0.1.3680043.10.543.2"
    (tmp_path / "b.dcm").write_bytes(dicom_bytes(second))
    (result,) = ingest_paths([tmp_path / "b.dcm"]).results
    assert result.reason == "exam_conflict"
    assert Image.objects.count() == 1 and len(files_under(media_root)) == 3


def test_age_band_is_kept_as_a_subgroup_attribute(media_root, phantom_dir):
    ingest_paths([phantom_dir])
    for exam in Exam.objects.all():
        band = exam.attributes["age_band"]
        low, high = (int(part) for part in band.split("-"))
        assert high - low == 9 and low % 10 == 0


def test_stale_staging_folders_are_cleaned(media_root, phantom_dir):
    import os
    import time

    stale = media_root / ".staging" / "killed-import"
    stale.mkdir(parents=True)
    (stale / "x-pixels.planes.gz").write_bytes(b"orphan")
    old = time.time() - 2 * 24 * 3600
    os.utime(stale, (old, old))
    ingest_paths([phantom_dir])
    assert not stale.exists()


def test_burned_in_annotation_yes_is_imported_with_a_warning(media_root, tmp_path):
    exam = phantoms.make_exam(1, SMALL, seed=12)
    ds = phantoms.phantom_dataset(exam, "R-CC", exam.views["R-CC"], 12, 1)
    ds.BurnedInAnnotation = "YES"
    (tmp_path / "burned.dcm").write_bytes(dicom_bytes(ds))
    (result,) = ingest_paths([tmp_path / "burned.dcm"]).results
    assert result.status == "imported"
    assert result.warnings == ["Burned In Annotation is YES: identifying text may remain in the pixels"]


@pytest.mark.parametrize("error, reason", [(OSError("disk full (simulated)"), "storage_error"),
                                           (RuntimeError("bug (simulated)"), "processing_error")])
def test_a_writer_failing_in_the_background_rejects_its_exam_only(media_root, phantom_dir, monkeypatch,
                                                                   error, reason):
    """The stored copy and the pixel derivative are written while the next file is read: a writer's
    error still reaches its own file (and exam), whichever file is being read by then."""
    real = derivatives.write_pixel_planes
    calls = {"n": 0}

    def flaky(pixels, out, *args):
        calls["n"] += 1
        if calls["n"] == 2:  # the second image of the first exam
            raise error
        return real(pixels, out, *args)

    monkeypatch.setattr(derivatives, "write_pixel_planes", flaky)
    report = ingest_paths([phantom_dir])
    failed = [r for r in report.results if r.status == "rejected"]
    assert len(failed) == 4 and sum(r.reason == reason for r in failed) == 1
    assert {r.reason for r in failed} == {reason, "exam_failed"}
    assert Exam.objects.count() == 1 and Image.objects.count() == 4
    stored = {Path(p).name for p in files_under(media_root)}
    expected = {Path(getattr(image, field).name).name for image in Image.objects.all()
                for field in ("source_file", "pixels_file", "preview_file")}
    assert stored == expected  # nothing of the failed exam, staging removed


def test_stored_copy_checksum_is_crc32_of_the_file(media_root, phantom_dir):
    import zlib

    ingest_paths([phantom_dir])
    for image in Image.objects.all():
        crc = zlib.crc32(Path(image.source_file.path).read_bytes())
        assert image.checksum == f"crc32:{crc:08x}"
