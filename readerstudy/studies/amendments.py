"""Amending a submitted reading: only its reader, only when the study allows it, always with a reason.

The reading row holds the current answers; `ReadingRevision` keeps every version (number 0 is
the first submission), append-only. Coordinators cannot change answers: no path here accepts
anyone but the reader. The audit event names the reading and the revision but not the answers
or the reason, because coordinators read the audit trail while they are still blinded.
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from readerstudy import audit
from readerstudy.studies import sessions
from readerstudy.studies.answers import ANSWER_FIELDS, answers_of, clean_answers
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Reading, ReadingRevision


def _ensure_first_revision(reading) -> None:
    """Keep the submitted version in the history before it is first overwritten."""
    if not reading.revisions.exists():
        ReadingRevision.objects.create(
            reading=reading, number=reading.revision, reason="", created_by=reading.assignment.reader,
            **answers_of(reading),
        )


def amend(reading_id: int, user, answers, reason: str, *, request=None) -> Reading:
    """Replace the answers of a submitted reading, keeping the earlier version; returns the reading."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "An amendment needs a reason."})
    cleaned = clean_answers(answers)
    with transaction.atomic():
        reading = Reading.objects.select_for_update(of=("self",)).select_related("assignment__arm__study", "exam").get(pk=reading_id)
        study = reading.assignment.arm.study
        if reading.assignment.reader_id != user.pk:
            raise PermissionDenied("Only the reader who submitted a reading can amend it.")
        if not study.allow_amendments:
            raise PermissionDenied("This study does not allow amendments.")
        if study.is_closed:
            raise PermissionDenied("The study is closed.")
        # Only inside the open session: a finished session is locked, and a reader who has moved on
        # (and may have seen the model's output) cannot go back to the answers of an earlier one.
        sessions.require_open(reading.assignment)
        if reading.status != Reading.Status.SUBMITTED:
            raise Conflict("Only a submitted reading can be amended.")
        if cleaned == answers_of(reading):
            raise ValidationError("The amendment changes no answer.")
        _ensure_first_revision(reading)
        reading.revision += 1
        ReadingRevision.objects.create(reading=reading, number=reading.revision, reason=reason, created_by=user, **cleaned)
        for field in ANSWER_FIELDS:
            setattr(reading, field, cleaned[field])
        reading.save(update_fields=[*ANSWER_FIELDS, "revision", "updated_at"])
        audit.record(
            user, "reading.amended", reading, study=study, request=request,
            exam=reading.exam.label, assignment=reading.assignment_id, revision=reading.revision,
        )
    return reading
