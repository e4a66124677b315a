"""Showing an exam to a reader and submitting the reader's answers: the one way a reading is stored.

`open_reading` records when the exam was first shown (a draft), `submit` validates, locks and
stores the answers. A submit carries an idempotency key (`client_key`): a retried POST with the
same key returns the stored reading instead of failing or storing a second one, so a reader on
a flaky network neither loses nor duplicates a reading. The answers never enter the audit
trail (coordinators read it while blinded).
"""
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from readerstudy import audit, clock
from readerstudy.studies import sessions
from readerstudy.studies.answers import ANSWER_FIELDS, clean_answers
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Reading, ReadingRevision

MAX_CLIENT_KEY = 64


def _check_exam(assignment, exam_id) -> int:
    try:
        exam_id = int(exam_id)
    except (TypeError, ValueError):
        raise ValidationError({"exam": "An exam id is required."}) from None
    if exam_id not in assignment.case_order:
        raise Http404("This exam is not part of the assignment.")
    return exam_id


def open_reading(assignment, exam_id, *, now=None) -> Reading:
    """The reading of an exam as the reader first sees it: a draft stamped with the time first shown."""
    sessions.require_open(assignment)
    exam_id = _check_exam(assignment, exam_id)
    now = now or clock.now()
    try:
        with transaction.atomic():
            reading, _ = Reading.objects.get_or_create(assignment=assignment, exam_id=exam_id, defaults={"first_shown_at": now})
    except IntegrityError:  # a concurrent first display created it
        reading = Reading.objects.get(assignment=assignment, exam_id=exam_id)
    if reading.first_shown_at is None:
        Reading.objects.filter(pk=reading.pk, first_shown_at__isnull=True).update(first_shown_at=now)
        reading.refresh_from_db()
    return reading


def _replay(client_key, assignment, exam_id) -> Reading | None:
    """The reading an earlier POST with this key stored, or Conflict if the key belongs to another reading."""
    earlier = Reading.objects.filter(client_key=client_key).first()
    if earlier is None:
        return None
    if earlier.assignment_id != assignment.pk or earlier.exam_id != exam_id:
        raise Conflict("This idempotency key was already used for another reading.")
    return earlier


def submit(assignment, exam_id, answers, *, client_key: str, request=None, now=None) -> tuple[Reading, bool]:
    """(reading, created): store the reader's answers once; a retry with the same key returns the stored reading."""
    client_key = (client_key if isinstance(client_key, str) else "").strip()
    if not client_key or len(client_key) > MAX_CLIENT_KEY:
        raise ValidationError({"client_key": f"An idempotency key of 1 to {MAX_CLIENT_KEY} characters is required."})
    exam_id = _check_exam(assignment, exam_id)
    earlier = _replay(client_key, assignment, exam_id)
    if earlier is not None:
        return earlier, False
    cleaned = clean_answers(answers)
    sessions.require_open(assignment)
    now = now or clock.now()
    try:
        with transaction.atomic():
            reading = Reading.objects.select_for_update().filter(assignment=assignment, exam_id=exam_id).first()
            if reading is None:
                reading = Reading(assignment=assignment, exam_id=exam_id)
            elif reading.status == Reading.Status.SUBMITTED:
                if reading.client_key == client_key:  # a retry that waited for the first attempt's lock
                    return reading, False
                raise Conflict("This exam has already been submitted; amend the reading instead.")
            for field in ANSWER_FIELDS:
                setattr(reading, field, cleaned[field])
            reading.status = Reading.Status.SUBMITTED
            reading.submitted_at = now
            reading.client_key = client_key
            if reading.first_shown_at is not None:
                reading.duration_ms = max(0, int((now - reading.first_shown_at).total_seconds() * 1000))
            reading.save()
            ReadingRevision.objects.create(reading=reading, number=0, created_by=assignment.reader, **cleaned)
            audit.record(
                assignment.reader, "reading.submitted", reading, study=assignment.arm.study_id, request=request,
                exam=exam_id, assignment=assignment.pk, arm=assignment.arm.kind,
            )
    except IntegrityError:
        # A concurrent POST with the same key (or for the same exam) won the race.
        earlier = _replay(client_key, assignment, exam_id)
        if earlier is not None:
            return earlier, False
        raise Conflict("This exam has already been submitted; amend the reading instead.") from None
    return reading, True
