import pytest
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.predictions.models import ModelRun
from tests.studies.factories import completed_run, make_exams

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(people):
    client = APIClient()
    client.force_authenticate(people["coordinator"])
    return client


def test_study_lifecycle_and_precise_errors(coordinator, people):
    created = coordinator.post("/api/studies/", {"name": "S1", "washout_days": 14, "allow_amendments": True, "seed": 77}, format="json")
    assert created.status_code == 201 and created.json()["status"] == "draft" and created.json()["seed"] == 77
    study = created.json()["id"]
    assert coordinator.post("/api/studies/", {"name": "S1"}, format="json").status_code == 400  # name taken
    assert coordinator.patch(f"/api/studies/{study}/", {"unit": "exam"}, format="json").json()["unit"] == "exam"

    exams = [e.pk for e in make_exams(4)]
    reading_set = coordinator.post("/api/reading-sets/", {"study": study, "name": "Set", "exams": exams}, format="json")
    assert reading_set.status_code == 201 and reading_set.json()["exams"] == exams
    set_id = reading_set.json()["id"]
    assert coordinator.post("/api/reading-sets/", {"study": study, "name": "Set", "exams": exams}, format="json").status_code == 400
    assert coordinator.post("/api/reading-sets/", {"study": study, "name": "Bad", "exams": [10**9]}, format="json").status_code == 400
    more = [e.pk for e in make_exams(2, prefix="MORE")]
    assert coordinator.post(f"/api/reading-sets/{set_id}/exams/", {"exams": more}, format="json").status_code == 200

    member = coordinator.post(f"/api/studies/{study}/members/", {"user": people["reader_a"].pk, "role": "reader"}, format="json")
    assert member.status_code == 201 and member.json()["sequence_group"] in ("unaided_first", "aided_first")
    coordinator.post(f"/api/studies/{study}/members/", {"user": people["statistician"].pk, "role": "statistician"}, format="json")
    dual = coordinator.post(f"/api/studies/{study}/members/", {"user": people["reader_a"].pk, "role": "statistician"}, format="json")
    assert dual.status_code == 409 and "nobody is both" in dual.json()["detail"]
    body = {"reader": people["reader_a"].pk, "reading_set": set_id}
    created = coordinator.post("/api/assignments/", body, format="json")
    assert created.status_code == 201 and sorted(a["session"] for a in created.json()) == [1, 2]
    assert coordinator.post("/api/assignments/", body, format="json").status_code == 409  # already assigned
    not_a_reader = {**body, "reader": people["statistician"].pk}
    assert coordinator.post("/api/assignments/", not_a_reader, format="json").status_code == 400
    late = coordinator.post(f"/api/reading-sets/{set_id}/exams/", {"exams": [make_exams(1, prefix="LATE")[0].pk]}, format="json")
    assert late.status_code == 409 and "fixed" in late.json()["detail"]

    refused = coordinator.post(f"/api/studies/{study}/open/")
    assert refused.status_code == 409 and "no model run" in refused.json()["detail"]
    run = completed_run(exams + more)
    arm = next(a["id"] for a in coordinator.get(f"/api/studies/{study}/").json()["arms"] if a["kind"] == "ai_aided")
    unseen = coordinator.patch(f"/api/arms/{arm}/", {"model_run": run.pk}, format="json")  # not a run the coordinator may see
    assert unseen.status_code == 400 and unseen.json() == {"model_run": ["No such model run."]}
    ModelRun.objects.filter(pk=run.pk).update(created_by=people["coordinator"])
    assert coordinator.patch(f"/api/arms/{arm}/", {"model_run": run.pk}, format="json").status_code == 200
    opened = coordinator.post(f"/api/studies/{study}/open/").json()
    assert opened["status"] == "open" and opened["protocol_version"] == 1
    assert coordinator.patch(f"/api/studies/{study}/", {"seed": 1}, format="json").status_code == 409
    assert coordinator.patch(f"/api/studies/{study}/", {"washout_days": 3}, format="json").status_code == 400  # a reason is required
    amended = coordinator.patch(f"/api/studies/{study}/", {"washout_days": 3, "reason": "Shorter washout"}, format="json").json()
    assert amended["protocol_version"] == 2 and amended["amendments"][0]["changes"] == {"washout_days": {"old": 14, "new": 3}}
    assert coordinator.post(f"/api/studies/{study}/close/").json()["status"] == "closed"
    assert coordinator.post(f"/api/studies/{study}/close/").status_code == 409
    assert coordinator.patch(f"/api/studies/{study}/", {"description": "late"}, format="json").status_code == 409

    actions = list(AuditEvent.objects.filter(study_id=study).order_by("id").values_list("action", flat=True))
    assert actions == ["study.created", "membership.added", "study.updated", "reading_set.created", "reading_set.exams_added",
                       "membership.added", "membership.added", "assignment.created", "arm.updated", "study.opened",
                       "study.updated", "protocol.amended", "study.closed"]


def test_audit_trail_filters_and_export(coordinator, people):
    coordinator.post("/api/studies/", {"name": "S2"}, format="json")
    assert coordinator.get("/api/audit-events/?action=study.created").json()["count"] == 1
    assert coordinator.get("/api/audit-events/?since=2000-01-01&until=2000-01-02").json()["count"] == 0
    assert coordinator.get("/api/audit-events/?since=yesterday").status_code == 400
    assert coordinator.get("/api/audit-events/?until=2026-02-30").status_code == 400
    assert coordinator.get("/api/audit-events/?study=x").status_code == 400
    export = coordinator.get("/api/audit-events/csv/?action=study.created")
    assert export.status_code == 200 and export.content.decode().count("study.created") == 1
    assert AuditEvent.objects.filter(action="export", details__what="audit_trail").count() == 1
