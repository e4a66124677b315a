"""Pages and endpoints: upload (page and API), truth upload, pixel/header/preview endpoints with
their access rules and caching headers."""
import gzip
import io
import zipfile

import numpy as np
import pydicom
import pytest

from readerstudy.exams.ingest import ingest_paths
from readerstudy.exams.models import BreastTruth, Exam, Image
from tests.studies.factories import make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(make_user):
    return make_user("coord", "coordinator")


@pytest.fixture
def imported(media_root, phantom_dir, coordinator):
    """The phantom exams, imported; the first one is in a study the coordinator coordinates."""
    ingest_paths([phantom_dir])
    make_study(coordinator, name="Imported", exams=[Exam.objects.order_by("pk").first()], status="draft")
    return phantom_dir


def test_pixels_are_gzip_byte_planes_with_caching_headers(client, coordinator, imported):
    client.force_login(coordinator)
    image = Image.objects.filter(exam=Exam.objects.order_by("pk").first()).first()
    response = client.get(f"/exams/images/{image.pk}/pixels")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Content-Type"] == "application/octet-stream"
    assert "private" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    raw = gzip.decompress(body)  # what the browser has after Content-Encoding: gzip
    stored = pydicom.dcmread(image.source_file.path).pixel_array
    assert raw == (stored & 0xFF).astype(np.uint8).tobytes() + (stored >> 8).astype(np.uint8).tobytes()
    etag = response["ETag"]
    again = client.get(f"/exams/images/{image.pk}/pixels", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag


def test_header_and_preview(client, coordinator, imported):
    client.force_login(coordinator)
    image = Image.objects.get(exam=Exam.objects.order_by("pk").first(), view="R-CC")
    header = client.get(f"/exams/images/{image.pk}/header")
    assert header.status_code == 200 and "private" in header["Cache-Control"] and header["ETag"]
    data = header.json()
    assert set(data) == {"rows", "columns", "bits_stored", "photometric", "invert", "rescale_slope",
                         "rescale_intercept", "windows", "voi_lut_function", "voi_lut", "pixel_spacing",
                         "flip_horizontal", "laterality", "view", "min", "max"}
    assert (data["view"], data["laterality"], data["invert"]) == ("R-CC", "R", False)
    preview = client.get(f"/exams/images/{image.pk}/preview")
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
    assert b"".join(preview.streaming_content).startswith(b"\x89PNG")


def test_readers_see_only_exams_of_their_assignments(client, make_user, coordinator, imported):
    reader = make_user("reader1", "reader")
    _, assigned = Exam.objects.order_by("pk")[:2]
    other = Exam.objects.order_by("pk").first()
    make_study(coordinator, exams=[assigned], readers=[reader])
    client.force_login(reader)
    mine = assigned.images.first()
    theirs = other.images.first()
    for kind in ("pixels", "header", "preview"):
        assert client.get(f"/exams/images/{mine.pk}/{kind}").status_code == 200
        assert client.get(f"/exams/images/{theirs.pk}/{kind}").status_code == 403


def test_statistician_may_view_but_not_upload(client, make_user, coordinator, imported):
    from readerstudy.studies import memberships
    from readerstudy.studies.models import Study

    statistician = make_user("stat", "statistician")
    memberships.add_member(Study.objects.get(name="Imported"), statistician, "statistician", coordinator)
    client.force_login(statistician)
    first = Exam.objects.order_by("pk").first()
    assert client.get(f"/exams/images/{first.images.first().pk}/header").status_code == 200
    # ... the exams of their studies only: a study creator or statistician sees no other exam.
    other = Exam.objects.order_by("pk")[1]
    assert client.get(f"/exams/images/{other.images.first().pk}/header").status_code == 403
    assert client.get("/exams/upload/").status_code == 403
    assert client.post("/api/exams/upload/", {}).status_code == 403


def test_anonymous_is_sent_to_login(client, imported):
    response = client.get(f"/exams/images/{Image.objects.first().pk}/pixels")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post("/api/exams/upload/", {}).status_code in (401, 403)


def test_unknown_image_is_404(client, coordinator, media_root):
    client.force_login(coordinator)
    assert client.get("/exams/images/999/pixels").status_code == 404


def test_upload_page_accepts_a_zip_and_lists_results(client, coordinator, media_root, phantom_dir):
    client.force_login(coordinator)
    page = client.get("/exams/upload/")
    assert page.status_code == 200 and b'type="file"' in page.content and b"<progress" in page.content
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(phantom_dir.iterdir()):
            archive.write(path, f"exams/{path.name}")
    buffer.seek(0)
    buffer.name = "exams.zip"
    response = client.post("/exams/upload/", {"files": [buffer], "identifier_choice": "1"})
    assert response.status_code == 200
    assert b"8 file(s) imported into 2 exam(s)" in response.content
    assert Image.objects.count() == 8
    assert not Exam.objects.filter(identifier_map__isnull=False).exists()  # box left unticked


def test_upload_without_files_is_400(client, coordinator, media_root):
    client.force_login(coordinator)
    assert client.post("/exams/upload/", {}, HTTP_ACCEPT="application/json").status_code == 400
    assert client.post("/api/exams/upload/", {}).status_code == 400


def test_api_upload_returns_201_with_results(client, coordinator, media_root, phantom_dir):
    client.force_login(coordinator)
    handles = [path.open("rb") for path in sorted(phantom_dir.glob("*0001_*.dcm"))]
    try:
        response = client.post("/api/exams/upload/", {"files": handles})
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code == 201
    assert response.json()["imported"] == 4 and len(response.json()["exams"]) == 1


def test_truth_upload_all_or_nothing(client, coordinator, imported):
    client.force_login(coordinator)
    truth = (imported / "truth.csv").read_bytes()
    bad = truth + b"PH-S7-0999,L,0,0,x\nPH-S7-0001,middle,1,0,x\n"
    response = client.post("/exams/truth/upload/", {"file": _named(bad, "t.csv")})
    assert response.status_code == 400
    assert b"line 6: unknown exam" in response.content and b"line 7: side" in response.content
    assert BreastTruth.objects.count() == 0
    response = client.post("/exams/truth/upload/", {"file": _named(truth, "t.csv")}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json() == {"stored": 4, "errors": []}
    assert BreastTruth.objects.count() == 4


def test_truth_upload_is_for_coordinators(client, make_user, imported):
    client.force_login(make_user("reader1", "reader"))
    assert client.get("/exams/truth/upload/").status_code == 403


def _named(data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_results_table_escapes_file_names(client, coordinator, media_root):
    client.force_login(coordinator)
    response = client.post("/exams/upload/", {"files": [_named(b"nothing", "<b>x.txt")]})
    assert response.status_code == 200
    assert b"<b>x.txt" not in response.content and b"&lt;b&gt;x.txt" in response.content
    assert b"not_dicom_or_png" in response.content


def test_identifier_map_admin_is_for_coordinators_only(client, make_user, imported):
    staff_reader = make_user("staffreader", "reader", is_staff=True, is_superuser=False)
    from django.contrib.auth.models import Permission

    staff_reader.user_permissions.add(*Permission.objects.filter(codename__in=["view_identifiermap", "view_exam"]))
    client.force_login(staff_reader)
    assert client.get("/admin/exams/identifiermap/").status_code == 403
    assert client.get("/admin/exams/exam/").status_code == 200
    client.force_login(make_user("root", "coordinator", is_staff=True, is_superuser=True))
    page = client.get("/admin/exams/identifiermap/")
    assert page.status_code == 200 and b"SYNTH-7-000001" in page.content


def test_too_many_files_asks_for_a_zip(client, coordinator, media_root, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    client.force_login(coordinator)
    files = [_named(b"x", f"{i}.dcm") for i in range(3)]
    response = client.post("/exams/upload/", {"files": files}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and ".zip" in response.json()["error"]


def test_too_many_files_through_the_api_is_a_4xx(client, coordinator, media_root, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    client.force_login(coordinator)
    response = client.post("/api/exams/upload/", {"files": [_named(b"x", f"{i}.dcm") for i in range(3)]})
    assert response.status_code == 400 and ".zip" in str(response.json())
