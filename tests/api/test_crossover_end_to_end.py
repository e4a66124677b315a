"""A whole crossover study through the API: a coordinator creates it, imports phantom exams, invites and
assigns three readers; they read both arms (0-day washout) with tokens; progress reaches 100 %; the
audit trail holds every event; closing the study unblinds the answers to the coordinator."""
from collections import Counter
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.exams import phantoms
from readerstudy.studies.models import Reading, ReadingRevision

pytestmark = pytest.mark.django_db

N_EXAMS = 6
READERS = ("rita", "sam", "tove")


def upload_phantoms(coordinator: APIClient, folder: Path) -> None:
    """Phantom DICOMs through the import API, their ground truth through the truth upload (no API for it)."""
    files = phantoms.generate(N_EXAMS, folder, size=(128, 104), fmt="dicom", seed=3)
    handles = [path.open("rb") for path in files if path.suffix == ".dcm"]
    try:
        response = coordinator.post("/api/exams/upload/", {"files": handles}, format="multipart")
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code == 201, response.content
    with next(path for path in files if path.name == "truth.csv").open("rb") as truth:
        stored = coordinator.post("/exams/truth/upload/", {"file": truth}, HTTP_ACCEPT="application/json")
    assert stored.status_code == 200 and stored.json() == {"stored": 2 * N_EXAMS, "errors": []}


def invite_reader(coordinator: APIClient, username: str) -> tuple[APIClient, int]:
    response = coordinator.post("/api/readers/", {"username": username, "first_name": username.title()}, format="json")
    assert response.status_code == 201, response.content
    link = response.json()["set_password_link"]
    browser = APIClient()
    page = browser.get(link, follow=True)
    assert page.status_code == 200 and b"Choose a password" in page.content
    password = f"{username}-long-pass-2026"
    done = browser.post(page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})
    assert done.status_code == 302
    token = APIClient().post("/api/token/", {"username": username, "password": password}, format="json")
    assert token.status_code == 200
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    return reader, response.json()["reader"]["id"]


def read_arm(reader: APIClient, assignment: dict, tag: str) -> None:
    for n, exam_id in enumerate(assignment["case_order"]):
        opened = reader.post("/api/readings/open/", {"assignment": assignment["id"], "exam": exam_id}, format="json")
        assert opened.status_code == 200, opened.content
        body = {"assignment": assignment["id"], "exam": exam_id, "left_probability": 10 * n, "right_probability": 5,
                "left_birads": 1 + n % 5, "right_birads": 1, "client_key": f"{tag}-{n}"}
        assert reader.post("/api/readings/", body, format="json").status_code == 201
        retry = reader.post("/api/readings/", body, format="json")  # a lost response, retried
        assert retry.status_code == 200 and retry.json()["id"] == opened.json()["id"]


def test_crossover_study_end_to_end(make_user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_user("cora", "coordinator")
    coordinator = APIClient()
    assert coordinator.login(username="cora", password="pw-cora")  # a session: the API and the pages

    upload_phantoms(coordinator, tmp_path / "phantoms")

    study = coordinator.post("/api/studies/", {"name": "Crossover", "unit": "breast", "washout_days": 0}, format="json").json()
    arms = {arm["kind"]: arm["id"] for arm in study["arms"]}
    assert [a["kind"] for a in sorted(study["arms"], key=lambda a: a["position"])] == ["unaided", "ai_aided"]
    reading_set = coordinator.post("/api/reading-sets/sample/", {"study": study["id"], "name": "All", "size": N_EXAMS, "seed": 5}, format="json")
    assert reading_set.status_code == 201, reading_set.content
    reading_set = reading_set.json()
    assert len(reading_set["exams"]) == N_EXAMS

    readers = {}
    for username in READERS:
        readers[username], reader_id = invite_reader(coordinator, username)
        for kind in ("unaided", "ai_aided"):
            created = coordinator.post("/api/assignments/", {"reader": reader_id, "reading_set": reading_set["id"], "arm": arms[kind]}, format="json")
            assert created.status_code == 201, created.content
    assert coordinator.post(f"/api/studies/{study['id']}/open/").status_code == 200

    orders = []
    for username, reader in readers.items():
        mine = {a["arm_kind"]: a for a in reader.get("/api/assignments/").json()["results"]}
        assert set(mine) == {"unaided", "ai_aided"}
        assert mine["ai_aided"]["arm_status"]["is_open"] is False
        early = reader.post("/api/readings/", {"assignment": mine["ai_aided"]["id"], "exam": mine["ai_aided"]["case_order"][0],
                                               "left_probability": 1, "right_probability": 1, "left_birads": 1, "right_birads": 1, "client_key": "early"}, format="json")
        assert early.status_code == 403 and "finish the Unaided arm" in early.json()["detail"]
        read_arm(reader, mine["unaided"], f"{username}-u")
        assert reader.get(f"/api/assignments/{mine['ai_aided']['id']}/").json()["arm_status"]["is_open"] is True
        read_arm(reader, mine["ai_aided"], f"{username}-a")
        orders += [tuple(mine["unaided"]["case_order"]), tuple(mine["ai_aided"]["case_order"])]
    assert all(sorted(order) == sorted(reading_set["exams"]) for order in orders)
    assert len(set(orders)) > 1  # each reader and arm is shuffled on its own (ordering tests check this exactly)

    progress = coordinator.get(f"/api/studies/{study['id']}/progress/").json()
    total = len(READERS) * 2 * N_EXAMS
    assert progress["overall"] == {"read": total, "total": total, "percent": 100.0}
    assert all(row["percent"] == 100.0 for row in progress["readers"])
    assert all(exam["reads"] == 2 * len(READERS) for exam in progress["exams"])
    assert coordinator.get(f"/api/studies/{study['id']}/progress-csv/?table=exams").status_code == 200

    # Blinded while open: aggregates yes, individual answers no.
    assert coordinator.get("/api/readings/").json()["count"] == 0
    summary = coordinator.get(f"/api/studies/{study['id']}/answers-summary/").json()
    assert sum(arm["submitted"] for arm in summary["arms"]) == total and all(arm["mean_probability"] is not None for arm in summary["arms"])
    assert coordinator.post(f"/api/studies/{study['id']}/close/").status_code == 200
    assert coordinator.get("/api/readings/?limit=1000").json()["count"] == total

    assert Reading.objects.filter(status="submitted").count() == total == ReadingRevision.objects.count()
    actions = Counter(AuditEvent.objects.values_list("action", flat=True))
    assert actions["login"] == 1 and actions["exams.import"] == N_EXAMS and actions["exams.truth_import"] == 1
    assert actions["study.created"] == actions["reading_set.created"] == actions["study.opened"] == actions["study.closed"] == 1
    assert actions["reader.created"] == actions["reader.password_set"] == actions["api.token_issued"] == len(READERS)
    assert actions["assignment.created"] == 2 * len(READERS)
    assert actions["reading.submitted"] == total  # retries stored nothing and logged nothing
    assert actions["export"] == 1
    trail = coordinator.get(f"/api/audit-events/?study={study['id']}&action=reading.submitted&limit=1000").json()
    assert trail["count"] == total and {e["actor_username"] for e in trail["results"]} == set(READERS)
