"""Blinding: while a study is open and not explicitly unblinded, no number derived from answers
reaches anyone (pages, API, exports, audit), whatever their role; progress counts only. Readers see
only their own work. Checked through the API and the pages."""
import pytest
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.studies import lifecycle, submission
from readerstudy.studies.models import Unblinding
from tests.studies.factories import answers, first_session, make_study

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def world(people):
    study = make_study(people["coordinator"], exams=3, readers=[people["reader_a"], people["reader_b"]],
                       statisticians=[people["statistician"]], allow_amendments=True)
    a = first_session(study, people["reader_a"])[0]
    b = first_session(study, people["reader_b"])[0]
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
    assert reader_b.get("/api/reading-sets/").json()["count"] == 0
    for url in ("/api/audit-events/", "/api/readers/", f"/api/studies/{study.pk}/progress/"):
        assert reader_b.get(url).status_code == 403, url


def test_no_answer_derived_number_while_open_for_any_role(client, people, world):
    study, _, reading_a, _ = world
    for role in ("coordinator", "statistician"):
        user = api(people[role])
        assert user.get("/api/readings/").json()["count"] == 0, role
        assert user.get(f"/api/readings/{reading_a.pk}/").status_code == 404, role
        assert user.get(f"/api/readings/{reading_a.pk}/revisions/").status_code == 404, role
        assert user.get(f"/api/analysis/studies/{study.pk}/").status_code == 403, role
        assert user.get(f"/api/analysis/studies/{study.pk}/ratings.csv").status_code == 403, role
        client.force_login(people[role])
        assert client.get(f"/studies/{study.pk}/readings.csv").status_code == 403, role
        assert client.get(f"/analysis/studies/{study.pk}/").status_code == 403, role
    client.force_login(people["coordinator"])
    page = client.get(f"/studies/{study.pk}/progress/")
    assert page.status_code == 200 and b"37.25" not in page.content and b"81.75" not in page.content
    assert not any("probability" in str(e.details) or "birads" in str(e.details) for e in AuditEvent.objects.all())


def test_audit_trail_hides_reading_events_while_blinded(people, world):
    study, _, _, _ = world
    coordinator = api(people["coordinator"])
    actions = {e["action"] for e in coordinator.get(f"/api/audit-events/?study={study.pk}&limit=1000").json()["results"]}
    assert "study.opened" in actions and not any(a.startswith("reading.") for a in actions)
    assert AuditEvent.objects.filter(action="reading.submitted", study_id=study.pk).count() == 2
    csv = coordinator.get("/api/audit-events/csv/").content.decode()
    assert "reading.submitted" not in csv
    lifecycle.close_study(study, people["coordinator"])
    actions = {e["action"] for e in coordinator.get(f"/api/audit-events/?study={study.pk}&limit=1000").json()["results"]}
    assert "reading.submitted" in actions


def test_interim_unblinding_is_recorded_and_unblinds(client, people, world):
    study, _, reading_a, _ = world
    coordinator, statistician = api(people["coordinator"]), api(people["statistician"])
    assert coordinator.post(f"/api/studies/{study.pk}/unblind/", {}, format="json").status_code == 400  # a reason is required
    assert statistician.post(f"/api/studies/{study.pk}/unblind/", {"reason": "x"}, format="json").status_code == 403
    response = coordinator.post(f"/api/studies/{study.pk}/unblind/", {"reason": "Safety review by the DSMB"}, format="json")
    assert response.status_code == 200 and response.json()["by"] == "coord"
    unblinding = Unblinding.objects.get(study=study)
    assert unblinding.reason == "Safety review by the DSMB" and unblinding.by == people["coordinator"]
    assert AuditEvent.objects.filter(action="study.unblinded", study_id=study.pk).exists()
    assert coordinator.post(f"/api/studies/{study.pk}/unblind/", {"reason": "again"}, format="json").status_code == 403
    assert statistician.get(f"/api/readings/{reading_a.pk}/").json()["left_probability"] == 37.25
    assert statistician.get("/api/readings/").json()["count"] == 2
    client.force_login(people["coordinator"])
    page = client.get(f"/studies/{study.pk}/")
    assert b"Safety review by the DSMB" in page.content and b"Unblinded early" in page.content
    export = client.get(f"/studies/{study.pk}/readings.csv")
    assert export.status_code == 200 and b"37.25" in export.content and b"81.75" in export.content


def test_closing_unblinds_the_study_to_its_coordinator_and_statistician_only(people, make_user, world):
    study, _, reading_a, _ = world
    lifecycle.close_study(study, people["coordinator"])
    assert api(people["coordinator"]).get(f"/api/readings/{reading_a.pk}/").json()["left_probability"] == 37.25
    assert api(people["statistician"]).get("/api/readings/").json()["count"] == 2
    outsider = make_user("other_coordinator", "coordinator")
    make_study(outsider, name="Another", exams=1)
    assert api(outsider).get("/api/readings/").json()["count"] == 0
    assert api(outsider).get(f"/api/readings/{reading_a.pk}/").status_code == 404
    assert api(outsider).get(f"/api/studies/{study.pk}/").status_code == 404


def test_statisticians_read_and_change_nothing(people, world):
    study, a, reading_a, _ = world
    statistician = api(people["statistician"])
    assert statistician.get(f"/api/studies/{study.pk}/").status_code == 200
    arm = study.arms.get(kind="ai_aided")
    attempts = [
        ("post", "/api/studies/", {"name": "Mine"}),
        ("patch", f"/api/studies/{study.pk}/", {"description": "changed"}),
        ("post", f"/api/studies/{study.pk}/close/", {}),
        ("patch", f"/api/arms/{arm.pk}/", {"model_run": arm.model_run_id}),
        ("post", "/api/reading-sets/", {"study": study.pk, "name": "x", "exams": a.case_order}),
        ("post", "/api/assignments/", {"reader": people["reader_a"].pk, "reading_set": a.reading_set_id}),
        ("post", "/api/readings/", {"assignment": a.pk, "exam": a.case_order[1], **answers(), "client_key": "s"}),
        ("post", "/api/readers/", {"username": "mole"}),
    ]
    for method, url, body in attempts:
        assert getattr(statistician, method)(url, body, format="json").status_code in (403, 404), url
    study.refresh_from_db()
    assert study.description == "" and study.status == "open"


def test_coordinators_manage_but_cannot_read_as_a_reader(people, world):
    study, a, reading_a, _ = world
    coordinator = api(people["coordinator"])
    assert coordinator.post("/api/readings/", {"assignment": a.pk, "exam": a.case_order[1], **answers(), "client_key": "c"}, format="json").status_code == 404
    people["reader_a"].set_password("chosen-by-reader-a")
    people["reader_a"].save()
    # A coordinator cannot take over a reader who already has a password.
    assert coordinator.post(f"/api/readers/{people['reader_a'].pk}/invite/").status_code == 409
