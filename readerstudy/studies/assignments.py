"""Assigning a reader to a reading set: the reader's sessions follow their sequence group.

Without a split, session 1 reads the whole set in the first modality of the reader's group and
session 2 in the other. With `Study.split_cases` the set is cut into two fixed halves (seeded by
the study, the same for every reader): session 1 reads half 1 in the first modality and half 2
in the other, session 2 the opposite, so every exam is read once in each modality, in different
sessions. Each assignment stores the reader's random case order at creation.
"""
import hashlib
import random

from django.core.exceptions import ValidationError
from django.db import transaction

from readerstudy import audit
from readerstudy.studies import ordering
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Arm, Assignment, Membership, ReadingSet


def halves(exam_ids: list[int], study_seed: int, reading_set_id: int) -> tuple[list[int], list[int]]:
    digest = hashlib.sha256(f"{int(study_seed)}:halves:{int(reading_set_id)}".encode()).digest()
    shuffled = list(exam_ids)
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(shuffled)
    middle = (len(shuffled) + 1) // 2
    first = set(shuffled[:middle])
    return [e for e in exam_ids if e in first], [e for e in exam_ids if e not in first]


def plan(study, group: str, exam_ids: list[int], reading_set_id: int) -> list[tuple[str, int, list[int]]]:
    """(arm kind, session, exam ids) of one reader's assignments to a reading set."""
    first, second = (Arm.Kind.UNAIDED, Arm.Kind.AI_AIDED)
    if group == Membership.Sequence.AIDED_FIRST:
        first, second = second, first
    if not study.split_cases:
        return [(first, 1, exam_ids), (second, 2, exam_ids)]
    half1, half2 = halves(exam_ids, study.seed, reading_set_id)
    return [(first, 1, half1), (second, 1, half2), (second, 2, half1), (first, 2, half2)]


def assign(reading_set: ReadingSet, reader, by, *, opens_at=None, request=None) -> list[Assignment]:
    """The reader's assignments to the set (two, or four with split halves); all or nothing."""
    study = reading_set.study
    if study.is_closed:
        raise Conflict("A closed study cannot be changed.")
    membership = Membership.objects.filter(study=study, user=reader).first()
    if membership is None or membership.role != Membership.Role.READER:
        raise ValidationError({"reader": f"{reader.get_username()} is not a reader of this study."})
    arms = {arm.kind: arm for arm in study.arms.all()}
    created = []
    with transaction.atomic():
        # Lock the set so no exam is added between reading its members and storing the order.
        ReadingSet.objects.select_for_update().get(pk=reading_set.pk)
        if Assignment.objects.filter(reader=reader, reading_set=reading_set).exists():
            raise Conflict(f"{reader.get_username()} is already assigned to {reading_set.name}.")
        exam_ids = reading_set.exam_ids()
        if not exam_ids:
            raise ValidationError({"reading_set": "The reading set has no exams."})
        for kind, session, exams in plan(study, membership.sequence_group, exam_ids, reading_set.pk):
            stream = f"{kind}:s{session}" if study.split_cases else kind
            order, seed = ordering.case_order(exams, study_seed=study.seed, reader_id=reader.pk,
                                              reading_set_id=reading_set.pk, arm_kind=stream)
            created.append(Assignment.objects.create(
                reader=reader, reading_set=reading_set, arm=arms[kind], session=session, case_order=order,
                order_seed=seed, opens_at=opens_at, created_by=by))
        audit.record(
            by, "assignment.created", reading_set, study=study, request=request, reader=reader.get_username(),
            reading_set=reading_set.name, sequence_group=membership.sequence_group,
            assignments=[{"id": a.pk, "arm": a.arm.kind, "session": a.session, "exams": len(a.case_order)} for a in created],
        )
    return created


def assign_many(reading_set: ReadingSet, readers, by, *, opens_at=None, request=None) -> list[Assignment]:
    """Every reader to one reading set; all or nothing."""
    with transaction.atomic():
        return [a for reader in readers for a in assign(reading_set, reader, by, opens_at=opens_at, request=request)]
