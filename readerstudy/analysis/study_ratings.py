"""A study's readings, the model's predictions and the ground truth as the long-format table.

This is the one join between Django and the pure statistics: rows of
`reader_id, modality, case_id, truth, rating, cluster_id` (plus exam attributes for subgroups),
at the breast level (case = exam label + side, cluster = exam) or, for studies analysed per exam,
at the exam level (positive if either breast is malignant; score = max over breasts).
Reader probabilities are entered in percent and analysed on [0, 1].
"""
from dataclasses import dataclass, field

from readerstudy.exams.models import BreastTruth
from readerstudy.predictions.models import ModelRun, Prediction
from readerstudy.studies.models import Reading, Study

MODEL_MODALITY = "model"
LONG_COLUMNS = ("reader_id", "modality", "case_id", "truth", "rating", "cluster_id")


@dataclass
class StudyRatings:
    study: Study
    rows: list[dict]
    model_run: ModelRun | None
    exams_without_truth: list[str] = field(default_factory=list)
    attributes: dict[str, dict] = field(default_factory=dict)  # cluster_id -> exam attributes

    @property
    def modalities(self) -> list[str]:
        return list(dict.fromkeys(row["modality"] for row in self.rows))


def model_run_for(study: Study) -> ModelRun | None:
    """The run shown in the AI-aided arm, else the study's latest finished run."""
    arm_run = study.arms.filter(model_run__isnull=False).values_list("model_run", flat=True).first()
    if arm_run:
        return ModelRun.objects.select_related("model_version").get(pk=arm_run)
    runs = ModelRun.objects.select_related("model_version").filter(status__in=[ModelRun.Status.DONE, ModelRun.Status.FAILED])
    return (runs.filter(study=study) | runs.filter(reading_set__study=study)).order_by("-created_at").first()


def study_ratings(study: Study, *, include_model: bool = True) -> StudyRatings:
    truths = {}
    for truth in BreastTruth.objects.filter(exam__reading_sets__study=study).select_related("exam").distinct():
        truths[(truth.exam_id, truth.side)] = truth.malignant
    readings = (
        Reading.objects.filter(assignment__arm__study=study, status=Reading.Status.SUBMITTED)
        .select_related("exam", "assignment__reader", "assignment__arm")
        .order_by("assignment__arm__position", "assignment__reader__username", "exam__label")
    )
    per_exam = study.unit == Study.Unit.EXAM
    rows, missing, attributes = [], set(), {}

    def add(reader_id, modality, exam, left, right):
        attributes[exam.label] = exam.attributes or {}
        if (exam.pk, "L") not in truths or (exam.pk, "R") not in truths:
            missing.add(exam.label)
            return
        if per_exam:
            truth = truths[(exam.pk, "L")] or truths[(exam.pk, "R")]
            rows.append(_row(reader_id, modality, exam.label, truth, max(left, right), exam.label))
            return
        rows.append(_row(reader_id, modality, f"{exam.label}-L", truths[(exam.pk, "L")], left, exam.label))
        rows.append(_row(reader_id, modality, f"{exam.label}-R", truths[(exam.pk, "R")], right, exam.label))

    for reading in readings:
        add(reading.assignment.reader.username, reading.assignment.arm.kind, reading.exam,
            reading.left_probability / 100.0, reading.right_probability / 100.0)

    run = model_run_for(study) if include_model else None
    if run is not None:
        read_exams = {reading.exam_id for reading in readings}
        for prediction in Prediction.objects.filter(run=run, exam_id__in=read_exams).select_related("exam").order_by("exam__label"):
            add(f"{MODEL_MODALITY}:{run.model_version.name}", MODEL_MODALITY, prediction.exam,
                prediction.left_malignant, prediction.right_malignant)
    return StudyRatings(study=study, rows=rows, model_run=run, exams_without_truth=sorted(missing), attributes=attributes)


def _row(reader_id, modality, case_id, truth, rating, cluster_id) -> dict:
    return {"reader_id": reader_id, "modality": modality, "case_id": case_id,
            "truth": int(bool(truth)), "rating": float(rating), "cluster_id": cluster_id}


def restrict(rows: list[dict], modalities: list[str], subgroup: tuple[str, str] | None = None,
             attributes: dict[str, dict] | None = None) -> tuple[list[dict], dict]:
    """Rows of the chosen modalities, on the cases that every included reader rated.

    A study in progress has readers at different points; the statistics need a complete
    reader x case table, so incomplete cases are left out and counted. A subgroup keeps only
    the exams whose attribute has the given value.
    """
    rows = [row for row in rows if row["modality"] in modalities]
    if subgroup is not None:
        key, value = subgroup
        rows = [row for row in rows if str((attributes or {}).get(row["cluster_id"], {}).get(key)) == value]
    pairs: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        pairs.setdefault((row["reader_id"], row["modality"]), set()).add(row["case_id"])
    all_cases = set().union(*pairs.values()) if pairs else set()
    complete = set.intersection(*pairs.values()) if pairs else set()
    kept = [row for row in rows if row["case_id"] in complete]
    return kept, {"cases": len(all_cases), "complete_cases": len(complete), "left_out": len(all_cases - complete),
                  "reader_modality_pairs": len(pairs)}


def subgroup_options(attributes: dict[str, dict]) -> dict[str, list[str]]:
    """Exam attributes present (density, age band, ...) and their values, for subgroup analysis."""
    options: dict[str, set[str]] = {}
    for attrs in attributes.values():
        for key, value in attrs.items():
            if isinstance(value, (str, int, float, bool)):
                options.setdefault(key, set()).add(str(value))
    return {key: sorted(values) for key, values in sorted(options.items()) if len(values) > 1}
