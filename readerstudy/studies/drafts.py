"""The viewer's autosave: a reader's answers so far, stored on the draft reading of an open session."""
from django.core.exceptions import ValidationError
from django.db import transaction

from readerstudy import audit
from readerstudy.studies import sessions, submission
from readerstudy.studies.answers import ANSWER_FIELDS, BIRADS_FIELDS, clean_answers
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Reading


def clean_draft(data: dict) -> dict:
    """The answers given so far: each field may be null, but a given value must be valid."""
    unknown = sorted(set(data) - set(ANSWER_FIELDS))
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    given = {field: data[field] for field in ANSWER_FIELDS if data.get(field) is not None}
    try:
        clean_answers(given)
    except ValidationError as invalid:
        errors = {field: messages for field, messages in invalid.message_dict.items() if field in given}
        if errors:
            raise ValidationError(errors) from None
    return {
        field: None if field not in given else int(given[field]) if field in BIRADS_FIELDS else float(given[field])
        for field in ANSWER_FIELDS
    }


def save_draft(assignment, exam_id: int, data: dict, request=None) -> Reading:
    cleaned = clean_draft(data)
    sessions.require_open(assignment)
    reading = submission.open_reading(assignment, exam_id)
    with transaction.atomic():
        reading = Reading.objects.select_for_update().get(pk=reading.pk)
        if reading.status == Reading.Status.SUBMITTED:
            raise Conflict("This reading is submitted and locked.")
        first_save = all(getattr(reading, field) is None for field in ANSWER_FIELDS)
        for field, value in cleaned.items():
            setattr(reading, field, value)
        reading.save(update_fields=[*ANSWER_FIELDS, "updated_at"])
    if first_save:
        # One event per reading, not per keystroke; the values stay out of the trail.
        audit.record(assignment.reader, "reading.draft_started", reading, study=assignment.arm.study_id,
                     request=request, exam=exam_id, assignment=assignment.pk)
    return reading
