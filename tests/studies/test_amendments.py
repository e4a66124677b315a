import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from readerstudy.audit.models import AuditEvent
from readerstudy.studies import amendments, lifecycle, submission
from readerstudy.studies.errors import Conflict
from tests.studies.factories import answers, first_session, make_study

pytestmark = pytest.mark.django_db


def submitted_reading(people, allow_amendments=True):
    study = make_study(people["coordinator"], exams=3, readers=[people["reader_a"]], allow_amendments=allow_amendments)
    assignment = first_session(study, people["reader_a"])[0]
    reading, _ = submission.submit(assignment, assignment.case_order[0], answers(20, 2), client_key="k")
    return reading


def test_amendment_keeps_every_version(people):
    reader = people["reader_a"]
    reading = submitted_reading(people)
    amendments.amend(reading.pk, reader, answers(70, 4), "Missed a density on review")
    amendments.amend(reading.pk, reader, answers(80, 5), "Second look")
    reading.refresh_from_db()
    assert (reading.revision, reading.left_probability, reading.right_birads) == (2, 80, 5)
    history = list(reading.revisions.values_list("number", "left_probability", "reason"))
    assert history == [(0, 20.0, ""), (1, 70.0, "Missed a density on review"), (2, 80.0, "Second look")]
    events = AuditEvent.objects.filter(action="reading.amended")
    assert events.count() == 2
    assert all("reason" not in e.details and "left_probability" not in e.details for e in events)


def test_coordinators_and_other_readers_cannot_amend(people):
    reading = submitted_reading(people)
    for user in (people["coordinator"], people["reader_b"], people["statistician"]):
        with pytest.raises(PermissionDenied):
            amendments.amend(reading.pk, user, answers(90, 5), "I think so")
    reading.refresh_from_db()
    assert reading.left_probability == 20 and reading.revisions.count() == 1


def test_amendment_rules(people):
    reading = submitted_reading(people, allow_amendments=False)
    reader = people["reader_a"]
    with pytest.raises(PermissionDenied, match="does not allow"):
        amendments.amend(reading.pk, reader, answers(90, 5), "why")
    study = reading.assignment.arm.study
    lifecycle.update_study(study, people["coordinator"], {"allow_amendments": True}, reason="Allow corrections")
    with pytest.raises(ValidationError):
        amendments.amend(reading.pk, reader, answers(90, 5), "  ")
    with pytest.raises(ValidationError, match="changes no answer"):
        amendments.amend(reading.pk, reader, answers(20, 2), "same")
    draft = submission.open_reading(reading.assignment, reading.assignment.case_order[1])
    with pytest.raises(Conflict):
        amendments.amend(draft.pk, reader, answers(90, 5), "draft")
    lifecycle.close_study(study, people["coordinator"])
    with pytest.raises(PermissionDenied, match="closed"):
        amendments.amend(reading.pk, reader, answers(90, 5), "late")
