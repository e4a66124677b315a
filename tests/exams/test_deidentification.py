"""De-identification: after import, no attribute of the PS3.15 Annex E Basic Profile keeps its
original value in any stored file or database row (the optional identifier map aside)."""
import datetime as dt
import gzip

import pydicom
import pytest
from django.core import serializers
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from readerstudy.audit.models import AuditEvent
from readerstudy.exams import phantoms
from readerstudy.exams.deid_profile import BASIC_PROFILE
from readerstudy.exams.deidentify import Deidentifier
from readerstudy.exams.ingest import ingest_paths
from readerstudy.exams.models import BreastTruth, Exam, IdentifierMap, Image
from tests.exams.conftest import SMALL, dicom_bytes, files_under


def identifying_dataset(index: int = 1) -> Dataset:
    exam = phantoms.make_exam(index, SMALL, seed=11)
    ds = phantoms.phantom_dataset(exam, "L-CC", exam.views["L-CC"], 11, index)
    ds.PatientAddress = "12 Identifying Street, Sometown"
    ds.OtherPatientIDs = "OTHER-ID-778899"
    ds.PatientTelephoneNumbers = "+1 555 0100"
    ds.InstitutionalDepartmentName = "Breast Imaging Department Zeta"
    ds.PerformingPhysicianName = "DOE^JANE"
    ds.ImageComments = "patient nervous, name on wristband"
    ds.AcquisitionDateTime = ds.StudyDate + "093012"
    ds.file_meta.SourceApplicationEntityTitle = "MAMMO_ROOM_7"
    ds.add_new(0x00091010, "LO", "PRIVATE-VENDOR-SECRET")
    ds.add_new(0x60004000, "LT", "overlay comment with identifiers")
    reference = Dataset()
    reference.ReferencedSOPClassUID = phantoms.MG_FOR_PRESENTATION
    reference.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.10.99.77.1"
    ds.ReferencedImageSequence = Sequence([reference])
    derivation = Dataset()
    derivation.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.10.99.77.2"
    derivation.OperatorsName = "NESTED^OPERATOR"
    ds.ContributingEquipmentSequence = Sequence([derivation])
    return ds


def original_values(ds: Dataset) -> dict[str, set[str]]:
    """Every value the profile must not let through: listed attributes, person names, dates,
    instance UIDs and private data, at any depth."""
    found: dict[str, set[str]] = {}

    def walk(dataset):
        for element in dataset:
            if element.VR == "SQ":
                for item in element.value:
                    walk(item)
                continue
            listed = element.keyword in BASIC_PROFILE or element.tag.is_private or element.tag.group == 0x6000
            instance_uid = element.VR == "UI" and not str(element.value).startswith("1.2.840.10008.")
            if listed or instance_uid or element.VR in ("PN", "DA", "DT"):
                values = element.value if element.VM > 1 else [element.value]
                for value in values:
                    text = str(value).strip()
                    if len(text) >= 4:
                        found.setdefault(element.keyword or str(element.tag), set()).add(text)

    walk(ds)
    return found


def database_dump() -> str:
    rows = [*Exam.objects.all(), *Image.objects.all(), *BreastTruth.objects.all(), *AuditEvent.objects.all()]
    return serializers.serialize("json", rows)


@pytest.mark.django_db
@pytest.mark.parametrize("keep_map", [False, True])
def test_no_profile_attribute_keeps_its_value_anywhere(media_root, tmp_path, keep_map):
    sources = []
    originals: dict[str, set[str]] = {}
    for index in (1, 2):
        ds = identifying_dataset(index)
        for keyword, values in original_values(ds).items():
            originals.setdefault(keyword, set()).update(values)
        path = tmp_path / f"in{index}.dcm"
        path.write_bytes(dicom_bytes(ds))
        sources.append(path)
    # The study time is in the profile (Z) but too short and too common to search as bytes.
    assert {"PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "InstitutionName",
            "StudyInstanceUID", "SOPInstanceUID", "ReferencedSOPInstanceUID", "OtherPatientIDs"} <= set(originals)
    report = ingest_paths(sources, keep_identifier_map=keep_map)
    assert report.imported == 2, [r.message for r in report.results]

    secrets = sorted({value for values in originals.values() for value in values})
    secrets.append("MAMMO_ROOM_7")  # the sending station, in the file meta information
    stored = files_under(media_root)
    assert stored
    for path in stored:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        for value in secrets:
            assert value.encode() not in data, f"{value!r} survives in {path.name}"
    dump = database_dump()
    for value in secrets:
        assert value not in dump, f"{value!r} survives in the database"
    assert IdentifierMap.objects.exists() is keep_map

    for image in Image.objects.all():
        stored_ds = pydicom.dcmread(image.source_file.path)
        for element in stored_ds.iterall():
            if element.keyword in BASIC_PROFILE and element.VR != "SQ" and element.value not in (None, ""):
                assert str(element.value) not in originals.get(element.keyword, set()), element.keyword
        assert stored_ds.PatientIdentityRemoved == "YES"
        assert stored_ds.ImageLaterality == "L" and stored_ds.ViewPosition == "CC"
        assert "WindowCenter" in stored_ds and "PixelSpacing" in stored_ds
        assert not any(element.tag.is_private for element in stored_ds.iterall())


def test_profile_covers_the_attributes_mammography_files_carry():
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "InstitutionName",
                    "InstitutionAddress", "ReferringPhysicianName", "StationName", "DeviceSerialNumber",
                    "StudyDate", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "OperatorsName",
                    "StudyDescription", "PatientAge", "OtherPatientIDs", "FrameOfReferenceUID"):
        assert keyword in BASIC_PROFILE


def test_uids_and_dates_are_consistent_per_patient_and_differ_by_secret():
    one, other = Deidentifier("secret-a"), Deidentifier("secret-b")
    uid = "1.2.826.0.1.3680043.10.5.1"
    assert one.remap_uid(uid) == one.remap_uid(uid) != other.remap_uid(uid)
    assert one.remap_uid(uid).startswith("2.25.") and len(one.remap_uid(uid)) <= 64
    assert one.remap_uid("1.2.840.10008.5.1.4.1.1.1.2") == "1.2.840.10008.5.1.4.1.1.1.2"  # class UIDs stay
    first, second = identifying_dataset(1), identifying_dataset(1)
    second.StudyDate = "20200101"
    a, b = one.deidentify(first), one.deidentify(second)
    assert a.date_offset_days == b.date_offset_days < 0
    shifted = dt.datetime.strptime(second.StudyDate, "%Y%m%d").date()
    assert (dt.date(2020, 1, 1) - shifted).days == -a.date_offset_days
    assert first.PatientID == second.PatientID == a.patient_pseudonym


def test_burned_in_annotation_warns():
    ds = identifying_dataset()
    ds.BurnedInAnnotation = "YES"
    result = Deidentifier("k").deidentify(ds)
    assert any("Burned In Annotation" in warning for warning in result.warnings)


@pytest.mark.parametrize("fields, band", [
    ({"PatientAge": "095Y"}, "90+"),
    ({"PatientAge": "054Y"}, "50-59"),
    ({"PatientBirthDate": "19700615", "StudyDate": "20200614"}, "40-49"),
    ({"PatientBirthDate": "19700615", "StudyDate": "20200615"}, "50-59"),
    ({"PatientAge": "030M"}, ""),
    ({}, ""),
])
def test_age_band(fields, band):
    from readerstudy.exams.ingest import age_band

    ds = Dataset()
    for keyword, value in fields.items():
        setattr(ds, keyword, value)
    assert age_band(ds) == band
