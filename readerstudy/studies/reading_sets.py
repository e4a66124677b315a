"""Building reading sets from imported exams: picked by hand, by filter, or as a stratified random sample.

Reading sets are part of the protocol: they are built while the study is a draft and frozen when
it opens. A set's exams are also fixed once a reader is assigned to it, because every assignment
stores its case order at creation.
"""
import re
import secrets
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from readerstudy import audit
from readerstudy.exams.models import BreastTruth, Exam
from readerstudy.studies import sampling
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import ReadingSet, ReadingSetExam

ATTRIBUTE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def strata_of(exam_ids) -> dict[int, str]:
    """Exam id -> ground-truth stratum (see `sampling.stratum`)."""
    flags = defaultdict(list)
    for exam_id, malignant, benign in BreastTruth.objects.filter(exam_id__in=list(exam_ids)).values_list("exam_id", "malignant", "benign"):
        flags[exam_id].append((malignant, benign))
    return {exam_id: sampling.stratum(flags.get(exam_id, [])) for exam_id in exam_ids}


def filter_exams(*, label: str = "", source: str = "", stratum: str = "", attribute: str = "", exclude_study=None, base=None):
    """Imported exams (of `base`, default all) matching a filter; `attribute` is "key=value" on the
    exam's subgroup attributes."""
    exams = Exam.objects.all() if base is None else base
    if label:
        exams = exams.filter(label__icontains=label)
    if source:
        exams = exams.filter(source=source)
    if attribute:
        key, sep, value = (part.strip() for part in attribute.partition("="))
        # A plain name only: "__" would turn the key into a lookup of its own.
        if not sep or not ATTRIBUTE_KEY.fullmatch(key) or "__" in key:
            raise ValidationError({"attribute": 'Write the attribute filter as "key=value" (key: letters, digits, _).'})
        exams = exams.filter(**{f"attributes__{key}": value})
    if exclude_study is not None:
        exams = exams.exclude(reading_sets__study=exclude_study)
    if stratum:
        if stratum not in sampling.STRATA:
            raise ValidationError({"stratum": f"Choose one of {', '.join(sampling.STRATA)}."})
        ids = list(exams.values_list("pk", flat=True))
        exams = exams.filter(pk__in=[i for i, s in strata_of(ids).items() if s == stratum])
    return exams.order_by("label")


def _require_draft(study) -> None:
    if not study.is_draft:
        raise Conflict("The study has opened: its reading sets are part of the frozen protocol.")


def _add_members(reading_set: ReadingSet, exam_ids: list[int]) -> int:
    exam_ids = list(dict.fromkeys(int(i) for i in exam_ids))
    found = set(Exam.objects.filter(pk__in=exam_ids).values_list("pk", flat=True))
    missing = [i for i in exam_ids if i not in found]
    if missing:
        raise ValidationError({"exams": f"No such exams: {', '.join(map(str, missing[:10]))}."})
    present = set(reading_set.members.values_list("exam_id", flat=True))
    new = [i for i in exam_ids if i not in present]
    start = (reading_set.members.aggregate(m=Max("position"))["m"] or -1) + 1
    ReadingSetExam.objects.bulk_create([ReadingSetExam(reading_set=reading_set, exam_id=e, position=start + n) for n, e in enumerate(new)])
    return len(new)


def create_reading_set(study, by, *, name: str, exam_ids, selection: dict | None = None, request=None) -> ReadingSet:
    """A new set of the given exams (in the given order); all or nothing."""
    _require_draft(study)
    if not list(exam_ids):
        raise ValidationError({"exams": "A reading set needs at least one exam."})
    try:
        with transaction.atomic():
            reading_set = ReadingSet.objects.create(study=study, name=name, selection=selection or {"method": "picked"}, created_by=by)
            count = _add_members(reading_set, exam_ids)
            audit.record(by, "reading_set.created", reading_set, study=study, request=request, name=name, exams=count, selection=reading_set.selection)
    except IntegrityError:
        raise ValidationError({"name": "This study already has a reading set with this name."}) from None
    return reading_set


def sample_reading_set(study, by, *, name: str, size: int | None = None, per_stratum: dict | None = None, seed: int | None = None, filters: dict | None = None, base=None, request=None) -> ReadingSet:
    """A stratified random sample of the (filtered) exam pool; the seed and allocation are recorded."""
    filters = {k: v for k, v in (filters or {}).items() if v}
    pool_ids = list(filter_exams(**filters, base=base).values_list("pk", flat=True))
    pool = defaultdict(list)
    for exam_id, name_of_stratum in strata_of(pool_ids).items():
        pool[name_of_stratum].append(exam_id)
    seed = secrets.randbits(62) if seed is None else int(seed)
    try:
        chosen, allocation = sampling.stratified_sample(pool, size=size, per_stratum=per_stratum, seed=seed)
    except sampling.SampleError as error:
        raise ValidationError({"size": str(error)}) from None
    selection = {"method": "stratified_sample", "seed": seed, "allocation": allocation, "filters": filters, "pool": {k: len(v) for k, v in pool.items()}}
    return create_reading_set(study, by, name=name, exam_ids=chosen, selection=selection, request=request)


def add_exams(reading_set: ReadingSet, by, exam_ids, *, request=None) -> int:
    """Append exams to a set nobody is assigned to yet; returns how many were new."""
    _require_draft(reading_set.study)
    with transaction.atomic():
        locked = ReadingSet.objects.select_for_update().get(pk=reading_set.pk)
        if locked.assignments.exists():
            raise Conflict("Readers are assigned to this reading set; its exams are fixed. Create a new set instead.")
        added = _add_members(locked, exam_ids)
        audit.record(by, "reading_set.exams_added", locked, study=locked.study_id, request=request, exams=added)
    return added
