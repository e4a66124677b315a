"""Sessions: the counterbalanced crossover (randomised, seeded, stored sequence groups), split
halves, the per-reader washout between sessions, and locked readings."""
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rest_framework.test import APIClient

from readerstudy import clock
from readerstudy.studies import amendments, lifecycle, memberships, sessions, submission
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Membership
from tests.studies.factories import answers, first_session, make_account, make_study

pytestmark = pytest.mark.django_db


def read_all(assignment, now=None):
    for n, exam_id in enumerate(assignment.case_order):
        submission.submit(assignment, exam_id, answers(), client_key=f"{assignment.pk}-{n}", now=now)


def test_readers_are_randomised_into_balanced_stored_sequence_groups(people):
    readers = [make_account(f"r{i}") for i in range(8)]
    study = make_study(people["coordinator"], exams=2, readers=readers, seed=99)
    groups = [Membership.objects.get(study=study, user=r).sequence_group for r in readers]
    assert Counter(groups) == {"unaided_first": 4, "aided_first": 4}
    for pair in (groups[0:2], groups[2:4], groups[4:6], groups[6:8]):  # blocks of two
        assert set(pair) == {"unaided_first", "aided_first"}
    assert [memberships.sequence_group(study, i) for i in range(8)] == groups  # seeded: reproducible
    for reader, group in zip(readers, groups, strict=False):
        first = {a.arm.kind for a in first_session(study, reader)}
        assert first == ({"unaided"} if group == "unaided_first" else {"ai_aided"})


def test_fixed_sequence_reads_unaided_first(people):
    readers = [make_account(f"r{i}") for i in range(3)]
    study = make_study(people["coordinator"], exams=2, readers=readers, sequence_design="unaided_first")
    assert set(Membership.objects.filter(study=study, role="reader").values_list("sequence_group", flat=True)) == {"unaided_first"}


def test_split_halves_are_read_in_opposite_modalities_per_session(people):
    reader = people["reader_a"]
    study = make_study(people["coordinator"], exams=6, readers=[reader], split_cases=True)
    rows = {(a.session, a.arm.kind): set(a.case_order) for a in reader.assignments.all()}
    assert len(rows) == 4
    for session in (1, 2):
        assert rows[(session, "unaided")] | rows[(session, "ai_aided")] == set(lifecycle.study_exam_ids(study))
        assert not rows[(session, "unaided")] & rows[(session, "ai_aided")]
    assert rows[(1, "unaided")] == rows[(2, "ai_aided")] and rows[(1, "ai_aided")] == rows[(2, "unaided")]


def test_session_two_opens_washout_days_after_the_readers_last_reading(people, monkeypatch):
    reader = people["reader_a"]
    study = make_study(people["coordinator"], exams=3, readers=[reader], washout_days=14)
    (first,) = first_session(study, reader)
    (second,) = reader.assignments.filter(session=2)
    assert sessions.arm_status(first).is_open
    status = sessions.arm_status(second)
    assert not status.is_open and "14 days after you finish session 1" in status.reason
    with pytest.raises(PermissionDenied, match="finish session 1"):
        sessions.require_open(second)

    finished = timezone.now() - timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: finished)
    read_all(first)
    monkeypatch.setattr(clock, "now", lambda: finished + timedelta(days=13))
    status = sessions.arm_status(second)
    assert not status.is_open and status.opens_at == finished + timedelta(days=14) and "Washout of 14 days" in status.reason
    with pytest.raises(PermissionDenied):
        submission.submit(second, second.case_order[0], answers(), client_key="too-early")
    monkeypatch.setattr(clock, "now", lambda: finished + timedelta(days=14, seconds=1))
    assert sessions.arm_status(second).is_open
    submission.submit(second, second.case_order[0], answers(), client_key="in-time")


def test_a_finished_session_is_locked_and_hidden_to_its_reader(people, client):
    reader = people["reader_a"]
    study = make_study(people["coordinator"], exams=2, readers=[reader], allow_amendments=True)
    (first,) = first_session(study, reader)
    reading, _ = submission.submit(first, first.case_order[0], answers(30, 3), client_key="one")
    api = APIClient()
    api.force_authenticate(reader)
    assert api.get(f"/api/readings/{reading.pk}/").status_code == 200
    amendments.amend(reading.pk, reader, answers(40, 3), "second look, same session")  # inside the open session
    submission.submit(first, first.case_order[1], answers(), client_key="two")  # completes session 1
    assert sessions.is_locked(first) and sessions.arm_status(first).reason == sessions.LOCKED_REASON
    assert api.get(f"/api/readings/{reading.pk}/").status_code == 404
    assert api.get(f"/api/readings/{reading.pk}/revisions/").status_code == 404
    assert reading.pk not in [r["id"] for r in api.get("/api/readings/").json()["results"]]
    response = api.post(f"/api/readings/{reading.pk}/amend/", {**answers(90, 5), "reason": "after seeing the model"}, format="json")
    assert response.status_code == 404
    with pytest.raises(PermissionDenied, match="locked"):
        amendments.amend(reading.pk, reader, answers(90, 5), "after seeing the model")
    viewer = api.get(f"/api/viewer/assignments/{first.pk}/exams/{first.case_order[0]}/draft")
    assert viewer.status_code == 403 and "locked" in viewer.json()["detail"]
    client.force_login(reader)  # the pages refuse too
    assert client.get(f"/read/{first.pk}/exams/{first.case_order[0]}/").status_code == 403


def test_study_status_and_explicit_opening_time(people):
    reader = people["reader_a"]
    study = make_study(people["coordinator"], exams=2, readers=[reader], status="draft")
    (first,) = first_session(study, reader)
    assert sessions.arm_status(first).reason == "The study has not started yet."
    lifecycle.open_study(study, people["coordinator"])
    later = timezone.now() + timedelta(days=2)
    first.opens_at = later
    first.save()
    first.arm.study.refresh_from_db()
    status = sessions.arm_status(first)
    assert (status.is_open, status.opens_at) == (False, later)
    lifecycle.close_study(study, people["coordinator"])
    first.arm.study.refresh_from_db()
    assert sessions.arm_status(first).reason == "The study is closed."


def test_assignment_needs_a_reader_member(people):
    study = make_study(people["coordinator"], exams=2, readers=[], status="draft")
    reading_set = study.reading_sets.get()
    from django.core.exceptions import ValidationError

    from readerstudy.studies import assignments

    with pytest.raises(ValidationError, match="not a reader of this study"):
        assignments.assign(reading_set, people["reader_a"], people["coordinator"])
    memberships.add_member(study, people["reader_a"], "reader", people["coordinator"])
    assert len(assignments.assign(reading_set, people["reader_a"], people["coordinator"])) == 2
    with pytest.raises(Conflict, match="already assigned"):
        assignments.assign(reading_set, people["reader_a"], people["coordinator"])
