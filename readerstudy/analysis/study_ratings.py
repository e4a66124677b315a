"""A study's readings, the model's predictions and the ground truth as the long-format table.

This is the one join between Django and the pure statistics: rows of
`reader_id, modality, case_id, truth, rating, cluster_id, sequence_group, period` (plus exam
attributes for subgroups), at the breast level (case = exam label + side, cluster = exam) or,
for studies analysed per exam, at the exam level (positive if either breast is malignant;
score = max over breasts). Reader probabilities are entered in percent and analysed on [0, 1].

Answers: the primary analysis uses each reading's first submitted answers (ReadingRevision
number 0, stored at submit); the secondary analysis ("amended") the reading's current values,
which differ only where the reader amended it. Crossover: `sequence_group` is the reader's
randomised group (Membership.sequence_group) and `period` the session (Assignment.session, 1
or 2) in which the reading was made; both are empty on the model's rows.
The model is the AI-aided arm's run only, when it completed: never another or a failed run.
"""
from dataclasses import dataclass, field

from readerstudy.exams.models import BreastTruth
from readerstudy.exams.truth import latest_truth_version_number
from readerstudy.predictions.models import ModelRun, Prediction
from readerstudy.studies.models import Arm, Membership, Reading, ReadingRevision, Study

MODEL_MODALITY = "model"
LONG_COLUMNS = ("reader_id", "modality", "case_id", "truth", "rating", "cluster_id")
CROSSOVER_COLUMNS = ("sequence_group", "period")
EXPORT_COLUMNS = LONG_COLUMNS + CROSSOVER_COLUMNS
FIRST, AMENDED = "first", "amended"
ANSWERS = (FIRST, AMENDED)
ANSWERS_LABELS = {FIRST: "Primary analysis: first submitted answers", AMENDED: "Secondary analysis: amended answers"}


class MissingFirstAnswers(Exception):
    """An amended reading whose first submission is not in its history: the primary analysis cannot be made."""


@dataclass
class StudyRatings:
    study: Study
    rows: list[dict]
    model_run: ModelRun | None
    exams_without_truth: list[str] = field(default_factory=list)
    attributes: dict[str, dict] = field(default_factory=dict)  # cluster_id -> exam attributes
    answers: str = FIRST
    truth_version: int | None = None  # the newest ground-truth version when the table was made
    model_note: str = ""  # why there is no model, when there is none

    @property
    def modalities(self) -> list[str]:
        return list(dict.fromkeys(row["modality"] for row in self.rows))


def model_run_for(study: Study) -> ModelRun | None:
    """The run shown in the AI-aided arm, or None: the analysis never falls back to another run
    (runs know nothing of studies; a failed or partial run is not the protocol's)."""
    arm_run = study.arms.filter(kind=Arm.Kind.AI_AIDED, model_run__isnull=False).values_list("model_run", flat=True).first()
    if arm_run is None:
        return None
    run = ModelRun.objects.select_related("model_version").get(pk=arm_run)
    return run if run.status == ModelRun.Status.DONE else None


def has_amendments(study: Study) -> bool:
    """Whether any submitted reading of the study was amended (a secondary analysis exists)."""
    return Reading.objects.filter(assignment__arm__study=study, status=Reading.Status.SUBMITTED, revision__gt=0).exists()


def _first_answers(study: Study, readings: list) -> dict[int, tuple[float, float]]:
    """reading id -> (left, right) probability of its first submission (revision 0). A reading never
    amended and without history (stored before revisions were kept) has its first answers in the row."""
    first = {reading_id: (left, right) for reading_id, left, right in ReadingRevision.objects.filter(
        reading__assignment__arm__study=study, number=0).values_list("reading_id", "left_probability", "right_probability")}
    for reading in readings:
        if reading.pk in first:
            continue
        if reading.revision:
            raise MissingFirstAnswers(
                f"reading {reading.pk} ({reading.exam.label}) was amended but its first submission is not in its history")
        first[reading.pk] = (reading.left_probability, reading.right_probability)
    return first


def study_ratings(study: Study, *, answers: str = FIRST, include_model: bool = True) -> StudyRatings:
    """The long-format rows of the study's submitted readings (first or amended answers) and of the
    AI-aided arm's completed model run, on the exams with ground truth for both breasts."""
    if answers not in ANSWERS:
        raise ValueError(f"answers must be one of {', '.join(ANSWERS)}, not {answers!r}")
    truth_version = latest_truth_version_number()
    truths = {}
    for truth in BreastTruth.objects.filter(exam__reading_sets__study=study).select_related("exam").distinct():
        truths[(truth.exam_id, truth.side)] = truth.malignant
    readings = list(
        Reading.objects.filter(assignment__arm__study=study, status=Reading.Status.SUBMITTED)
        .select_related("exam", "assignment__reader", "assignment__arm")
        .order_by("assignment__arm__position", "assignment__reader__username", "exam__label")
    )
    first = _first_answers(study, readings) if answers == FIRST else {}
    groups = dict(Membership.objects.filter(study=study, role=Membership.Role.READER).values_list("user_id", "sequence_group"))
    per_exam = study.unit == Study.Unit.EXAM
    rows, missing, attributes = [], set(), {}

    def add(reader_id, modality, exam, left, right, group="", period=None):
        attributes[exam.label] = exam.attributes or {}
        if (exam.pk, "L") not in truths or (exam.pk, "R") not in truths:
            missing.add(exam.label)
            return
        if per_exam:
            truth = truths[(exam.pk, "L")] or truths[(exam.pk, "R")]
            rows.append(_row(reader_id, modality, exam.label, truth, max(left, right), exam.label, group, period))
            return
        rows.append(_row(reader_id, modality, f"{exam.label}-L", truths[(exam.pk, "L")], left, exam.label, group, period))
        rows.append(_row(reader_id, modality, f"{exam.label}-R", truths[(exam.pk, "R")], right, exam.label, group, period))

    for reading in readings:
        left, right = first[reading.pk] if answers == FIRST else (reading.left_probability, reading.right_probability)
        assignment = reading.assignment
        add(assignment.reader.username, assignment.arm.kind, reading.exam, left / 100.0, right / 100.0,
            groups.get(assignment.reader_id, ""), assignment.session)

    run, note = None, ""
    if include_model:
        run = model_run_for(study)
        if run is None:
            note = "the AI-aided arm has no completed model run"
    if run is not None:
        read_exams = {reading.exam_id for reading in readings}
        for prediction in Prediction.objects.filter(run=run, exam_id__in=read_exams).select_related("exam").order_by("exam__label"):
            add(f"{MODEL_MODALITY}:{run.model_version.name}", MODEL_MODALITY, prediction.exam,
                prediction.left_malignant, prediction.right_malignant)
    return StudyRatings(study=study, rows=rows, model_run=run, exams_without_truth=sorted(missing), attributes=attributes,
                        answers=answers, truth_version=truth_version, model_note=note)


def _row(reader_id, modality, case_id, truth, rating, cluster_id, sequence_group="", period=None) -> dict:
    return {"reader_id": reader_id, "modality": modality, "case_id": case_id,
            "truth": int(bool(truth)), "rating": float(rating), "cluster_id": cluster_id,
            "sequence_group": sequence_group, "period": period}


def restrict(rows: list[dict], modalities: list[str], subgroup: tuple[str, str] | None = None,
             attributes: dict[str, dict] | None = None) -> tuple[list[dict], dict]:
    """Rows of the chosen modalities, on the cases that every included reader rated.

    A study in progress has readers at different points; the statistics need a complete
    reader x case table, so incomplete cases are left out and counted. A subgroup keeps only
    the exams whose attribute has the given value. Pairs are (reader, modality), whatever the
    period: with split halves a reader's two halves of a modality, read in different sessions,
    are one pair.
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
