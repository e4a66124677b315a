import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from readerstudy.audit.models import AuditEvent
from readerstudy.studies import submission
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Reading
from tests.studies.factories import answers, make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(people):
    make_study(people["coordinator"], exams=3, readers=[people["reader_a"]])
    return people["reader_a"].assignments.get(session=1)


def test_open_then_submit_records_time_and_history(assignment):
    exam_id = assignment.case_order[0]
    draft = submission.open_reading(assignment, exam_id)
    assert draft.status == "draft" and draft.first_shown_at is not None
    assert submission.open_reading(assignment, exam_id).first_shown_at == draft.first_shown_at
    reading, created = submission.submit(assignment, exam_id, answers(30, 3), client_key="k1")
    assert created and reading.pk == draft.pk and reading.status == "submitted"
    assert reading.duration_ms is not None and reading.duration_ms >= 0
    assert list(reading.revisions.values_list("number", "left_probability")) == [(0, 30.0)]
    event = AuditEvent.objects.get(action="reading.submitted")
    assert event.object_id == str(reading.pk) and "left_probability" not in event.details


def test_a_retry_with_the_same_key_returns_the_stored_reading(assignment):
    exam_id = assignment.case_order[0]
    first, created = submission.submit(assignment, exam_id, answers(), client_key="same")
    again, created_again = submission.submit(assignment, exam_id, answers(99, 5), client_key="same")
    assert created and not created_again and again.pk == first.pk and again.left_probability == 50
    assert Reading.objects.count() == 1 and AuditEvent.objects.filter(action="reading.submitted").count() == 1


def test_second_submit_and_reused_key_conflict(assignment):
    first, second = assignment.case_order[:2]
    submission.submit(assignment, first, answers(), client_key="k1")
    with pytest.raises(Conflict, match="amend"):
        submission.submit(assignment, first, answers(), client_key="k2")
    with pytest.raises(Conflict, match="another reading"):
        submission.submit(assignment, second, answers(), client_key="k1")


def test_bad_answers_and_foreign_exams_are_refused(assignment):
    with pytest.raises(ValidationError) as error:
        submission.submit(assignment, assignment.case_order[0], {**answers(), "left_probability": 101, "right_birads": 7}, client_key="k")
    assert set(error.value.message_dict) == {"left_probability", "right_birads"}
    with pytest.raises(Http404):
        submission.submit(assignment, 10**9, answers(), client_key="k")
    with pytest.raises(ValidationError):
        submission.submit(assignment, assignment.case_order[0], answers(), client_key="")
    assert not Reading.objects.exists()


def test_a_retry_that_raced_the_first_attempt_gets_the_stored_reading(assignment, monkeypatch):
    """On PostgreSQL a retry can pass the key check before the first attempt commits, then wait for its row lock."""
    exam_id = assignment.case_order[0]
    first, _ = submission.submit(assignment, exam_id, answers(), client_key="raced")
    monkeypatch.setattr(submission, "_replay", lambda *args: None)  # as if the first attempt had not committed yet
    again, created = submission.submit(assignment, exam_id, answers(99, 5), client_key="raced")
    assert (again.pk, created, again.left_probability) == (first.pk, False, 50)
    assert first.revisions.count() == 1
    with pytest.raises(Conflict):
        submission.submit(assignment, exam_id, answers(), client_key="other-key")
