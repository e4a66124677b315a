"""A whole counterbalanced crossover study through the API: a study creator creates it, imports
phantom exams, invites four readers, who are randomised into the two sequence groups (unaided
first / AI-aided first); they read their two sessions with tokens, the 7-day washout enforced per
reader on a clock the test moves; progress reaches 100 % while nothing answer-derived shows;
closing the study unblinds it, and the analysis shows both sequence groups and the period-effect
check beside the MRMC result."""
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from readerstudy import clock
from readerstudy.audit.models import AuditEvent
from readerstudy.exams import phantoms
from readerstudy.exams.models import BreastTruth
from readerstudy.studies.models import Reading, ReadingRevision
from tests.studies.factories import completed_run

pytestmark = pytest.mark.django_db

N_EXAMS = 8
READERS = ("rita", "sam", "tove", "uma")
WASHOUT_DAYS = 7


def upload_phantoms(coordinator: APIClient, folder: Path) -> None:
    """Phantom DICOMs through the import API, their ground truth through the truth upload (no API for it)."""
    files = phantoms.generate(N_EXAMS, folder, size=(128, 104), fmt="dicom", seed=4)  # 3 malignant breasts
    handles = [path.open("rb") for path in files if path.suffix == ".dcm"]
    try:
        response = coordinator.post("/api/exams/upload/", {"files": handles}, format="multipart")
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code == 201, response.content
    with next(path for path in files if path.name == "truth.csv").open("rb") as truth:
        stored = coordinator.post("/exams/truth/upload/", {"file": truth}, HTTP_ACCEPT="application/json")
    assert stored.status_code == 200 and stored.json()["stored"] == 2 * N_EXAMS and stored.json()["errors"] == []


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


def read_session(reader: APIClient, assignment: dict, tag: str, aided: bool, truth: dict) -> None:
    """Readers rate malignant breasts higher, more so with the model's help, with noise of their own
    (so that AUCs differ between readers and periods)."""
    rng = random.Random(tag)
    for n, exam_id in enumerate(assignment["case_order"]):
        opened = reader.post("/api/readings/open/", {"assignment": assignment["id"], "exam": exam_id}, format="json")
        assert opened.status_code == 200, opened.content
        rating = {side: round(min(100, (35 if aided else 20) * truth[(exam_id, side)] + rng.uniform(0, 60)), 1) for side in "LR"}
        body = {"assignment": assignment["id"], "exam": exam_id, "left_probability": rating["L"], "right_probability": rating["R"],
                "left_birads": 4 if rating["L"] > 50 else 1, "right_birads": 4 if rating["R"] > 50 else 1, "client_key": f"{tag}-{n}"}
        assert reader.post("/api/readings/", body, format="json").status_code == 201
        retry = reader.post("/api/readings/", body, format="json")  # a lost response, retried
        assert retry.status_code == 200 and retry.json()["id"] == opened.json()["id"]


def test_counterbalanced_study_end_to_end(make_user, tmp_path, settings, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    make_user("cora", "coordinator")
    stan_id = make_user("stan").pk
    coordinator = APIClient()
    assert coordinator.login(username="cora", password="pw-cora")  # a session: the API and the pages

    upload_phantoms(coordinator, tmp_path / "phantoms")

    study = coordinator.post("/api/studies/", {"name": "Crossover", "unit": "breast", "washout_days": WASHOUT_DAYS,
                                                "sequence_design": "counterbalanced", "seed": 2026}, format="json").json()
    assert study["status"] == "draft" and study["protocol_version"] == 0
    reading_set = coordinator.post("/api/reading-sets/sample/", {"study": study["id"], "name": "All", "size": N_EXAMS, "seed": 5}, format="json")
    assert reading_set.status_code == 201, reading_set.content
    reading_set = reading_set.json()
    assert len(reading_set["exams"]) == N_EXAMS
    truth = {(t.exam_id, t.side): int(t.malignant) for t in BreastTruth.objects.all()}

    readers, groups = {}, {}
    for username in READERS:
        readers[username], reader_id = invite_reader(coordinator, username)
        member = coordinator.post(f"/api/studies/{study['id']}/members/", {"user": reader_id, "role": "reader"}, format="json")
        assert member.status_code == 201, member.content
        groups[username] = member.json()["sequence_group"]
        created = coordinator.post("/api/assignments/", {"reader": reader_id, "reading_set": reading_set["id"]}, format="json")
        assert created.status_code == 201 and len(created.json()) == 2, created.content
    assert Counter(groups.values()) == {"unaided_first": 2, "aided_first": 2}
    stan = coordinator.post(f"/api/studies/{study['id']}/members/", {"user": stan_id, "role": "statistician"}, format="json")
    assert stan.status_code == 201 and stan.json()["username"] == "stan"

    # The AI-aided arm needs a completed run over every exam; a model whose scores follow the truth.
    run = completed_run(reading_set["exams"], by=None, name="phantom model")
    for prediction in run.predictions.all():
        prediction.left_malignant = 0.2 + 0.6 * truth[(prediction.exam_id, "L")]
        prediction.right_malignant = 0.15 + 0.6 * truth[(prediction.exam_id, "R")]
        prediction.save()
    run.created_by_id = AuditEvent.objects.get(action="study.created").actor_id
    run.save()
    arm = next(a["id"] for a in study["arms"] if a["kind"] == "ai_aided")
    assert coordinator.patch(f"/api/arms/{arm}/", {"model_run": run.pk}, format="json").status_code == 200
    opened = coordinator.post(f"/api/studies/{study['id']}/open/")
    assert opened.status_code == 200 and opened.json()["protocol_version"] == 1

    orders, finished_at = [], {}
    for username, reader in readers.items():
        mine = {a["session"]: a for a in reader.get("/api/assignments/").json()["results"]}
        assert set(mine) == {1, 2}
        first_arm = "unaided" if groups[username] == "unaided_first" else "ai_aided"
        assert mine[1]["arm_kind"] == first_arm and mine[2]["arm_kind"] != first_arm
        assert mine[1]["arm_status"]["is_open"] is True and mine[2]["arm_status"]["is_open"] is False
        early = reader.post("/api/readings/", {"assignment": mine[2]["id"], "exam": mine[2]["case_order"][0], "left_probability": 1,
                                               "right_probability": 1, "left_birads": 1, "right_birads": 1, "client_key": "early"}, format="json")
        assert early.status_code == 403 and "finish session 1" in early.json()["detail"]
        read_session(reader, mine[1], f"{username}-1", mine[1]["arm_kind"] == "ai_aided", truth)
        finished_at[username] = clock.now()
        orders += [tuple(mine[1]["case_order"]), tuple(mine[2]["case_order"])]
        # The washout runs per reader from their last reading of session 1.
        waiting = reader.get(f"/api/assignments/{mine[2]['id']}/").json()["arm_status"]
        assert waiting["is_open"] is False and "Washout of 7 days" in waiting["reason"]
        # Session 1 is locked: its readings are hidden from their reader now.
        assert reader.get(f"/api/readings/?assignment={mine[1]['id']}").json()["count"] == 0
        later = clock.now() + timedelta(hours=1)
        monkeypatch.setattr(clock, "now", lambda later=later: later)

    for username, reader in readers.items():
        mine = {a["session"]: a for a in reader.get("/api/assignments/").json()["results"]}
        monkeypatch.setattr(clock, "now", lambda username=username: finished_at[username] + timedelta(days=WASHOUT_DAYS) - timedelta(minutes=1))
        assert reader.get(f"/api/assignments/{mine[2]['id']}/").json()["arm_status"]["is_open"] is False
        monkeypatch.setattr(clock, "now", lambda username=username: finished_at[username] + timedelta(days=WASHOUT_DAYS, minutes=1))
        assert reader.get(f"/api/assignments/{mine[2]['id']}/").json()["arm_status"]["is_open"] is True
        read_session(reader, mine[2], f"{username}-2", mine[2]["arm_kind"] == "ai_aided", truth)
    assert all(sorted(order) == sorted(reading_set["exams"]) for order in orders)
    assert len(set(orders)) > 1  # each reader and session is shuffled on its own (ordering tests check this exactly)

    progress = coordinator.get(f"/api/studies/{study['id']}/progress/").json()
    total = len(READERS) * 2 * N_EXAMS
    assert progress["overall"] == {"read": total, "total": total, "percent": 100.0}
    assert all(row["percent"] == 100.0 for row in progress["readers"])
    assert all(exam["reads"] == 2 * len(READERS) for exam in progress["exams"])
    assert coordinator.get(f"/api/studies/{study['id']}/progress-csv/?table=exams").status_code == 200

    # Blinded while open: no answers, no analysis, no reading events in the audit trail.
    statistician = APIClient()
    assert statistician.login(username="stan", password="pw-stan")
    for client in (coordinator, statistician):
        assert client.get("/api/readings/").json()["count"] == 0
        assert client.get(f"/api/analysis/studies/{study['id']}/").status_code == 403
    assert coordinator.get(f"/api/audit-events/?study={study['id']}&action=reading.submitted").json()["count"] == 0
    assert coordinator.post(f"/api/studies/{study['id']}/close/").status_code == 200
    assert coordinator.get("/api/readings/?limit=1000").json()["count"] == total

    analysis = statistician.get(f"/api/analysis/studies/{study['id']}/")
    assert analysis.status_code == 200, analysis.content
    crossover = analysis.json()["crossover"]
    assert {group["sequence_group"] for group in crossover["groups"]} == {"unaided_first", "aided_first"}
    assert all(group["readers"] == 2 for group in crossover["groups"])
    period = crossover["period_effect"]
    assert period["df"] == 2 and 0 <= period["p"] <= 1 and "estimate" in period
    assert "mrmc" in str(analysis.json()["results"]).lower()

    assert Reading.objects.filter(status="submitted").count() == total == ReadingRevision.objects.count()
    actions = Counter(AuditEvent.objects.values_list("action", flat=True))
    assert actions["login"] == 2 and actions["exams.import"] == N_EXAMS and actions["exams.truth_import"] == 1
    assert actions["study.created"] == actions["reading_set.created"] == actions["study.opened"] == actions["study.closed"] == 1
    assert actions["reader.created"] == actions["reader.password_set"] == actions["api.token_issued"] == len(READERS)
    assert actions["assignment.created"] == len(READERS) and actions["membership.added"] == len(READERS) + 2
    assert actions["reading.submitted"] == total  # retries stored nothing and logged nothing
    trail = coordinator.get(f"/api/audit-events/?study={study['id']}&action=reading.submitted&limit=1000").json()
    assert trail["count"] == total and {e["actor_username"] for e in trail["results"]} == set(READERS)
