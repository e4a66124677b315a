import pytest
from rest_framework.test import APIClient

from readerstudy.studies import submission
from tests.studies.factories import answers, make_study

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def setup(people):
    study = make_study(people["coordinator"], exams=3, readers=[people["reader_a"], people["reader_b"]],
                       statisticians=[people["statistician"]], allow_amendments=True)
    assignment = people["reader_a"].assignments.get(session=1)
    reading, _ = submission.submit(assignment, assignment.case_order[0], answers(20, 2), client_key="a-0")
    return study, assignment, reading


def test_reader_amends_own_reading_through_the_api(people, setup):
    _, assignment, reading = setup
    reader = client_for(people["reader_a"])
    response = reader.post(f"/api/readings/{reading.pk}/amend/", {**answers(60, 4), "reason": "Second look at the left CC"}, format="json")
    assert response.status_code == 200 and response.json()["revision"] == 1 and response.json()["left_probability"] == 60
    history = reader.get(f"/api/readings/{reading.pk}/revisions/").json()
    assert [(r["number"], r["left_probability"], r["reason"]) for r in history] == [(0, 20.0, ""), (1, 60.0, "Second look at the left CC")]


@pytest.mark.parametrize("body, status", [
    ({**answers(60, 4)}, 400),  # no reason
    ({**answers(60, 9), "reason": "x"}, 400),  # BI-RADS out of range
    ({**answers(20, 2), "reason": "x"}, 400),  # changes nothing
])
def test_bad_amendments_are_refused(people, setup, body, status):
    _, _, reading = setup
    assert client_for(people["reader_a"]).post(f"/api/readings/{reading.pk}/amend/", body, format="json").status_code == status


def test_amending_a_draft_conflicts_and_others_cannot_amend(people, setup):
    _, assignment, reading = setup
    draft = submission.open_reading(assignment, assignment.case_order[1])
    body = {**answers(60, 4), "reason": "x"}
    assert client_for(people["reader_a"]).post(f"/api/readings/{draft.pk}/amend/", body, format="json").status_code == 409
    assert client_for(people["reader_b"]).post(f"/api/readings/{reading.pk}/amend/", body, format="json").status_code == 404
    assert client_for(people["coordinator"]).post(f"/api/readings/{reading.pk}/amend/", body, format="json").status_code == 404
    assert client_for(people["statistician"]).post(f"/api/readings/{reading.pk}/amend/", body, format="json").status_code == 404
    for user in people.values():
        for method in ("put", "patch", "delete"):
            assert getattr(client_for(user), method)(f"/api/readings/{reading.pk}/", body, format="json").status_code in (403, 404, 405)
    reading.refresh_from_db()
    assert reading.left_probability == 20 and reading.revision == 0


def test_submit_validation_and_idempotency(people, setup):
    _, assignment, _ = setup
    reader = client_for(people["reader_a"])
    exam_id = assignment.case_order[1]
    body = {"assignment": assignment.pk, "exam": exam_id, **answers(101, 2), "client_key": "k1"}
    assert reader.post("/api/readings/", body, format="json").status_code == 400
    body.update(left_probability=40, right_probability=40)
    first = reader.post("/api/readings/", body, format="json")
    assert first.status_code == 201
    assert reader.post("/api/readings/", body, format="json").status_code == 200
    assert reader.post("/api/readings/", {**body, "client_key": "k2"}, format="json").status_code == 409
    assert reader.post("/api/readings/", {**body, "exam": assignment.case_order[2]}, format="json").status_code == 409  # key reused
    other = people["reader_b"].assignments.get(session=1)
    assert reader.post("/api/readings/", {**body, "assignment": other.pk, "client_key": "k3"}, format="json").status_code == 404
    assert reader.post("/api/readings/", {**body, "exam": 10**9, "client_key": "k4"}, format="json").status_code == 404
