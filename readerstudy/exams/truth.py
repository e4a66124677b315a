"""Ground-truth import: the CSV is checked in full first, then stored in one transaction or not
at all."""
from __future__ import annotations

from django.db import transaction

from readerstudy import audit

from .ingest import find_exam
from .models import BreastTruth
from .truth_csv import TruthError, parse_truth_csv


def import_truth(text: str, *, user=None, request=None) -> tuple[int, list[TruthError]]:
    """(number of breasts stored, errors); nothing is stored when there is any error."""
    exams = {}

    def exam_exists(exam_id: str) -> bool:
        exams[exam_id] = find_exam(exam_id)
        return exams[exam_id] is not None

    rows, errors = parse_truth_csv(text, exam_exists)
    if errors:
        return 0, errors
    with transaction.atomic():
        for row in rows:
            BreastTruth.objects.update_or_create(
                exam=exams[row.exam_id], side=row.side,
                defaults={"malignant": row.malignant, "benign": row.benign, "source": row.source[:128]})
        audit.record(user, "exams.truth_import", request=request, breasts=len(rows),
                     exams=len({row.exam_id for row in rows}))
    return len(rows), []
