"""Readers see only their own work, coordinators see answers only in aggregate until the study is closed,
statisticians read and change nothing: checked per object, through the API and the pages."""
import pytest
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.studies import lifecycle, submission
from tests.studies.factories import answers, make_study

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def world(people):
    study = make_study(people["coordinator"], exams=3, readers=[people["reader_a"], people["reader_b"]], allow_amendments=True)
    a = people["reader_a"].assignments.get(arm__kind="unaided")
    b = people["reader_b"].assignments.get(arm__kind="unaided")
    reading_a, _ = submission.submit(a, a.case_order[0], answers(37.25, 4), client_key="a")
    reading_b, _ = submission.submit(b, b.case_order[0], answers(81.75, 5), client_key="b")
    return study, a, reading_a, reading_b


def test_readers_see_only_their_own_work(people, world):
    study, a, reading_a, reading_b = world
    reader_b = api(people["reader_b"])
    assert [r["id"] for r in reader_b.get("/api/readings/").json()["results"]] == [reading_b.pk]
    assert reader_b.get(f"/api/readings/{reading_a.pk}/").status_code == 404
    assert reader_b.get(f"/api/readings/{reading_a.pk}/revisions/").status_code == 404
    assert reader_b.get(f"/api/assignments/{a.pk}/").status_code == 404
    assert {x["reader"] for x in reader_b.get("/api/assignments/").json()["results"]} == {people["reader_b"].pk}
    assert reader_b.post("/api/readings/open/", {"assignment": a.pk, "exam": a.case_order[1]}, format="json").status_code == 404
    for url in ("/api/reading-sets/", "/api/audit-events/", "/api/readers/", f"/api/studies/{study.pk}/progress/", f"/api/studies/{study.pk}/answers-summary/"):
        assert reader_b.get(url).status_code == 403, url


def test_coordinators_see_answers_in_aggregate_until_the_study_is_closed(client, people, world):
    study, _, reading_a, _ = world
    coordinator = api(people["coordinator"])
    assert coordinator.get("/api/readings/").json()["count"] == 0
    hidden = coordinator.get(f"/api/readings/{reading_a.pk}/")
    assert hidden.status_code == 403 and "blinded" in hidden.json()["detail"]
    summary = coordinator.get(f"/api/studies/{study.pk}/answers-summary/").json()["arms"]
    # Two readings: an average would show them, so it is withheld until the arm has MIN_READINGS.
    assert summary[0]["submitted"] == 2 and summary[0]["mean_probability"] is None and summary[0]["birads_counts"] is None
    statistician = api(people["statistician"]).get(f"/api/studies/{study.pk}/answers-summary/").json()["arms"]
    assert statistician[0]["mean_probability"] == 59.5 and statistician[0]["birads_counts"]["5"] == 2
    client.force_login(people["coordinator"])
    assert client.get(f"/studies/{study.pk}/readings.csv").status_code == 403
    page = client.get(f"/studies/{study.pk}/progress/")
    assert page.status_code == 200 and b"37.25" not in page.content and b"81.75" not in page.content
    assert not any("probability" in str(e.details) or "birads" in str(e.details) for e in AuditEvent.objects.all())

    lifecycle.close_study(study, people["coordinator"])
    assert coordinator.get(f"/api/studies/{study.pk}/answers-summary/").json()["arms"][0]["mean_probability"] == 59.5
    assert coordinator.get(f"/api/readings/{reading_a.pk}/").json()["left_probability"] == 37.25
    assert coordinator.get("/api/readings/").json()["count"] == 2
    export = client.get(f"/studies/{study.pk}/readings.csv")
    assert export.status_code == 200 and b"37.25" in export.content and b"81.75" in export.content


def test_statisticians_read_and_change_nothing(people, world):
    study, a, reading_a, _ = world
    statistician = api(people["statistician"])
    assert statistician.get("/api/readings/").json()["count"] == 2
    assert statistician.get(f"/api/studies/{study.pk}/").status_code == 200
    arm = study.arms.first()
    attempts = [
        ("post", "/api/studies/", {"name": "Mine"}),
        ("patch", f"/api/studies/{study.pk}/", {"description": "changed"}),
        ("post", f"/api/studies/{study.pk}/close/", {}),
        ("patch", f"/api/arms/{arm.pk}/", {"position": 5}),
        ("post", "/api/reading-sets/", {"study": study.pk, "name": "x", "exams": a.case_order}),
        ("post", "/api/assignments/", {"reader": people["reader_a"].pk, "reading_set": a.reading_set_id, "arm": arm.pk}),
        ("post", "/api/readings/", {"assignment": a.pk, "exam": a.case_order[1], **answers(), "client_key": "s"}),
        ("post", f"/api/readings/{reading_a.pk}/amend/", {**answers(1, 1), "reason": "x"}),
        ("post", "/api/readers/", {"username": "mole"}),
    ]
    for method, url, body in attempts:
        assert getattr(statistician, method)(url, body, format="json").status_code == 403, url
    study.refresh_from_db()
    assert study.description == "" and study.status == "open"


def test_coordinators_manage_but_cannot_read_as_a_reader(people, world):
    study, a, reading_a, _ = world
    coordinator = api(people["coordinator"])
    assert coordinator.post("/api/readings/", {"assignment": a.pk, "exam": a.case_order[1], **answers(), "client_key": "c"}, format="json").status_code == 403
    people["reader_a"].set_password("chosen-by-reader-a")
    people["reader_a"].save()
    # A coordinator cannot take over a reader who already has a password.
    assert coordinator.post(f"/api/readers/{people['reader_a'].pk}/invite/").status_code == 409
