"""The hostile-file corpus: every file refused with its specific reason, nothing stored, and no
server error through the upload page or the API."""
import json
from pathlib import Path

import pytest

from readerstudy.exams.ingest import ingest_paths
from readerstudy.exams.models import Exam, IdentifierMap, Image
from tests.exams.conftest import files_under

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
CORPUS_FILES = sorted(path for path in CORPUS.iterdir() if path.name not in ("manifest.json", "make_corpus.py"))


@pytest.fixture
def corpus_settings(settings, media_root):
    for name, value in MANIFEST["settings"].items():
        setattr(settings, name, value)
    return settings


def assert_nothing_stored(media_root: Path):
    assert Exam.objects.count() == 0
    assert Image.objects.count() == 0
    assert IdentifierMap.objects.count() == 0
    assert files_under(media_root) == []


def test_corpus_is_large_enough_and_complete():
    reasons = {reason for reason in MANIFEST["expected"].values() if reason not in ("exam_list", "exam_failed")}
    assert len(CORPUS_FILES) >= 15
    assert {"wrong_modality", "no_pixel_data", "unknown_view", "unknown_laterality", "duplicate_sop_instance_uid",
            "truncated_file", "unsupported_transfer_syntax", "zip_absolute_path", "zip_parent_path",
            "file_too_large", "image_too_large", "not_dicom_or_png", "corrupt_png", "missing_exam_file",
            "zip_bomb"} <= reasons


def results_by_name(results) -> dict[str, str]:
    return {result["name"]: (result["reason"] or result["status"]) for result in results}


@pytest.mark.django_db
def test_every_corpus_file_is_rejected_with_its_reason(corpus_settings, media_root):
    report = ingest_paths(CORPUS_FILES)
    got = results_by_name(result.as_dict() for result in report.results)
    assert got == MANIFEST["expected"]
    assert report.imported == 0
    assert_nothing_stored(media_root)


@pytest.mark.django_db
def test_corpus_through_the_upload_page(corpus_settings, media_root, client, make_user):
    client.force_login(make_user("coord", "coordinator"))
    handles = [path.open("rb") for path in CORPUS_FILES]
    try:
        response = client.post("/exams/upload/", {"files": handles}, HTTP_ACCEPT="application/json")
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code == 200
    assert results_by_name(response.json()["results"]) == MANIFEST["expected"]
    assert_nothing_stored(media_root)


@pytest.mark.django_db
def test_corpus_through_the_api(corpus_settings, media_root, client, make_user):
    client.force_login(make_user("coord", "coordinator"))
    handles = [path.open("rb") for path in CORPUS_FILES]
    try:
        response = client.post("/api/exams/upload/", {"files": handles})
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code == 200  # 200, not 201: nothing was stored
    assert results_by_name(response.json()["results"]) == MANIFEST["expected"]
    assert_nothing_stored(media_root)


@pytest.mark.django_db
def test_each_corpus_file_alone_gets_an_answer_not_a_server_error(corpus_settings, media_root, client, make_user):
    client.force_login(make_user("coord", "coordinator"))
    for path in CORPUS_FILES:
        with path.open("rb") as handle:
            response = client.post("/api/exams/upload/", {"files": [handle]})
        assert response.status_code in (200, 201), (path.name, response.status_code)
        results = response.json()["results"]
        assert results and all(r["status"] in ("imported", "rejected", "exam_list") for r in results)
        if response.status_code == 200:
            assert all(r["reason"] for r in results if r["status"] == "rejected"), path.name
    # Alone, the first of the duplicate pair is a valid image: the only file that may be stored.
    assert list(Image.objects.values_list("exam__identifier_map__original_patient_id", flat=True)) == [
        "CORPUS-duplicate"]
