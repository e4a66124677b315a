from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from readerstudy.studies import crossover, lifecycle, submission
from tests.studies.factories import answers, make_study

pytestmark = pytest.mark.django_db


def read_all(assignment, now):
    for n, exam_id in enumerate(assignment.case_order):
        submission.submit(assignment, exam_id, answers(), client_key=f"{assignment.pk}-{n}", now=now)


def test_aided_arm_opens_washout_days_after_the_last_unaided_reading(people):
    reader = people["reader_a"]
    study = make_study(people["coordinator"], exams=3, readers=[reader], washout_days=14)
    unaided = reader.assignments.get(arm__kind="unaided")
    aided = reader.assignments.get(arm__kind="ai_aided")
    assert crossover.arm_status(unaided).is_open

    status = crossover.arm_status(aided)
    assert not status.is_open and status.opens_at is None and "14 days after you finish the Unaided arm" in status.reason
    with pytest.raises(PermissionDenied, match="finish the Unaided arm"):
        crossover.require_open(aided)

    finished = timezone.now() - timedelta(days=3)
    read_all(unaided, finished)
    status = crossover.arm_status(aided)
    assert not status.is_open
    assert status.opens_at == finished + timedelta(days=14)
    assert "Washout of 14 days" in status.reason
    assert crossover.arm_status(aided, now=finished + timedelta(days=14, seconds=1)).is_open
    with pytest.raises(PermissionDenied):
        submission.submit(aided, aided.case_order[0], answers(), client_key="too-early")


def test_zero_washout_opens_as_soon_as_the_first_arm_is_done(people):
    reader = people["reader_a"]
    study = make_study(people["coordinator"], exams=2, readers=[reader], washout_days=0)
    aided = reader.assignments.get(arm__kind="ai_aided")
    assert "when you finish" in crossover.arm_status(aided).reason
    read_all(reader.assignments.get(arm__kind="unaided"), timezone.now())
    assert crossover.arm_status(aided) == crossover.OPEN
    assert study.washout_days == 0


def test_study_status_and_explicit_opening_time(people):
    reader = people["reader_a"]
    study = make_study(people["coordinator"], exams=2, readers=[reader], status="draft")
    unaided = reader.assignments.get(arm__kind="unaided")
    assert crossover.arm_status(unaided).reason == "The study has not started yet."
    lifecycle.open_study(study, people["coordinator"])
    later = timezone.now() + timedelta(days=2)
    unaided.opens_at = later
    unaided.save()
    unaided.arm.study.refresh_from_db()
    status = crossover.arm_status(unaided)
    assert (status.is_open, status.opens_at) == (False, later)
    unaided.opens_at = None
    lifecycle.close_study(study, people["coordinator"])
    unaided.arm.study.refresh_from_db()
    assert crossover.arm_status(unaided).reason == "The study is closed."
