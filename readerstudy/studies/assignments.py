"""Assigning readers to (reading set, arm); each assignment stores the reader's case order at creation."""
from django.core.exceptions import ValidationError
from django.db import transaction

from readerstudy import audit
from readerstudy.accounts import roles
from readerstudy.studies import ordering
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Assignment, ReadingSet


def assign(reading_set: ReadingSet, arm, reader, by, *, opens_at=None, request=None) -> Assignment:
    study = reading_set.study
    if arm.study_id != study.pk:
        raise ValidationError({"arm": "The arm belongs to another study."})
    if study.is_closed:
        raise Conflict("A closed study cannot be changed.")
    if not roles.is_reader(reader):
        raise ValidationError({"reader": f"{reader.get_username()} is not a reader."})
    with transaction.atomic():
        # Lock the set so no exam is added between reading its members and storing the order.
        ReadingSet.objects.select_for_update().get(pk=reading_set.pk)
        if Assignment.objects.filter(reader=reader, reading_set=reading_set, arm=arm).exists():
            raise Conflict(f"{reader.get_username()} is already assigned to {reading_set.name} ({arm.get_kind_display()}).")
        exam_ids = reading_set.exam_ids()
        if not exam_ids:
            raise ValidationError({"reading_set": "The reading set has no exams."})
        order, seed = ordering.case_order(exam_ids, study_seed=study.seed, reader_id=reader.pk, reading_set_id=reading_set.pk, arm_kind=arm.kind)
        assignment = Assignment.objects.create(
            reader=reader, reading_set=reading_set, arm=arm, case_order=order, order_seed=seed, opens_at=opens_at, created_by=by,
        )
        audit.record(
            by, "assignment.created", assignment, study=study, request=request,
            reader=reader.get_username(), reading_set=reading_set.name, arm=arm.kind, exams=len(order), order_seed=seed,
        )
    return assignment


def assign_many(reading_set: ReadingSet, arms, readers, by, *, opens_at=None, request=None) -> list[Assignment]:
    """Every reader to every arm of one reading set; all or nothing."""
    with transaction.atomic():
        return [assign(reading_set, arm, reader, by, opens_at=opens_at, request=request) for reader in readers for arm in arms]
