"""Model runs over a study's exams: the study side of `predictions.runs.start_run`.

A model run is a run of a registered model over a list of exams and knows nothing of studies
(predictions sits below studies in the import graph). This module chooses the exams (one reading
set, or every reading set of the study), describes the run ("<study> / <reading set>") and
records the start in the study's audit trail. Starting a run never attaches it to an arm, not even
to a draft study's AI-aided arm that has none: attaching is `lifecycle.configure_arm`, which
checks the run (completed, covering every exam, exact heatmaps) once the study is open.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from readerstudy import audit
from readerstudy.predictions import runs
from readerstudy.predictions.models import ModelRun, ModelVersion
from readerstudy.studies.models import ReadingSet, Study

ALL_READING_SETS = "all reading sets"


def study_exam_ids(study: Study, reading_set: ReadingSet | None = None) -> list[int]:
    """The exams of `reading_set` in reading order, or of every reading set of the study in the
    order of the sets (by name), each exam once (its first occurrence kept)."""
    if reading_set is not None:
        if reading_set.study_id != study.pk:
            raise ValidationError({"reading_set": f"{reading_set.name} is not a reading set of {study.name}."})
        return reading_set.exam_ids()
    ordered: dict[int, None] = {}
    for members in study.reading_sets.order_by("name", "pk"):
        ordered.update(dict.fromkeys(members.exam_ids()))
    return list(ordered)


def describe(study: Study, reading_set: ReadingSet | None = None) -> str:
    return f"{study.name} / {reading_set.name if reading_set is not None else ALL_READING_SETS}"


def start_study_run(study: Study, version: ModelVersion, *, reading_set: ReadingSet | None = None, options=None, by,
                    request=None) -> ModelRun:
    """Start a run of `version` over the exams of one reading set of `study` (or of all its reading
    sets). Raises ValidationError for a reading set of another study or a study without exams, and
    `runs.RunError` for bad options. The run's tasks are queued when the transaction commits."""
    exam_ids = study_exam_ids(study, reading_set)
    if not exam_ids:
        where = f"reading set {reading_set.name}" if reading_set is not None else "study"
        raise ValidationError({"reading_set": f"The {where} has no exams yet."})
    with transaction.atomic():
        run = runs.start_run(version, exam_ids=exam_ids, description=describe(study, reading_set), options=options,
                             actor=by, request=request)
        audit.record(by, "study.model_run_started", run, study=study, request=request, model_version=version.name,
                     reading_set=getattr(reading_set, "pk", None), exams=len(exam_ids), options=run.options)
    return run
