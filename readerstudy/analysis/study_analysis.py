"""Run the statistics on a study and keep the report files, computed once per data and settings.

The pure `report.analyse` / `report.write_report` do the work; this module picks the scope
(arms, subgroup) and the answers (first submitted: the primary analysis; amended: the
secondary), computes the crossover result from the rows' periods, names the protocol and
ground-truth versions it used, fingerprints the exact input so a page reload never recomputes
10,000 replicates, and stores the files under MEDIA_ROOT/analysis/<study>/<fingerprint>/.
"""
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from readerstudy.analysis import report
from readerstudy.analysis.crossover import crossover_from_rows
from readerstudy.analysis.ratings import RatingsError, ratings_from_rows
from readerstudy.analysis.study_ratings import (
    ANSWERS,
    ANSWERS_LABELS,
    FIRST,
    MODEL_MODALITY,
    MissingFirstAnswers,
    has_amendments,
    restrict,
    study_ratings,
    subgroup_options,
)
from readerstudy.studies.models import Arm, Study

SCOPES = ("both", Arm.Kind.UNAIDED, Arm.Kind.AI_AIDED)
REPORT_FILES = (
    "results.json", "reader_aucs.csv", "bootstrap_aucs.csv", "mrmc_comparisons.csv", "operating_points.csv",
    "crossover.csv", "lambda_sweep.csv", "roc.png", "roc.svg", "roc.pdf", "lambda_sweep.png", "lambda_sweep.svg",
    "lambda_sweep.pdf", "summary.pdf",
)
FIXED_SEQUENCE_NOTE = "fixed sequence: modality is confounded with period; no period check"


class AnalysisUnavailable(Exception):
    """There is nothing to analyse yet (no submitted readings, no truth); the message says what is missing."""


@dataclass
class StudyAnalysisResult:
    study: Study
    scope: str
    subgroup: tuple[str, str] | None
    results: dict
    directory: Path
    coverage: dict
    model_run: object
    subgroups: dict
    exams_without_truth: list[str]
    answers: str = FIRST
    has_amendments: bool = False
    truth_version: int | None = None
    model_note: str = ""

    @property
    def answers_label(self) -> str:
        return ANSWERS_LABELS[self.answers]

    @property
    def provenance(self) -> dict:
        return self.results.get("provenance") or {}

    @property
    def crossover(self) -> dict | None:
        return self.results.get("crossover")

    @property
    def crossover_note(self) -> str | None:
        return self.results.get("crossover_note")

    def files(self) -> list[str]:
        return [name for name in REPORT_FILES if (self.directory / name).exists()]


def parse_answers(value: str | None) -> str:
    answers = value or FIRST
    if answers not in ANSWERS:
        raise AnalysisUnavailable(f"unknown answers {answers!r}; use one of {', '.join(ANSWERS)}")
    return answers


def _crossover(study: Study, scope: str, arms: list[str], rows: list[dict]):
    """(result, note): the crossover check needs both arms and a counterbalanced design."""
    if study.sequence_design != Study.SequenceDesign.COUNTERBALANCED:
        return None, FIXED_SEQUENCE_NOTE
    if scope != "both":
        return None, "the sequence groups and the period check need both arms (scope both)"
    if not {Arm.Kind.UNAIDED, Arm.Kind.AI_AIDED} <= set(arms):
        return None, "the sequence groups and the period check need readings in both arms"
    reader_rows = [row for row in rows if row["modality"] != MODEL_MODALITY]
    return crossover_from_rows(reader_rows, reference=Arm.Kind.UNAIDED, test=Arm.Kind.AI_AIDED), None


def analyse_study(study: Study, scope: str = "both", subgroup: tuple[str, str] | None = None,
                  answers: str = FIRST, replicates: int = 10_000) -> StudyAnalysisResult:
    if scope not in SCOPES:
        raise AnalysisUnavailable(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    answers = parse_answers(answers)
    try:
        data = study_ratings(study, answers=answers)
    except MissingFirstAnswers as error:
        raise AnalysisUnavailable(str(error)) from None
    amended = has_amendments(study)
    arms = [m for m in data.modalities if m != MODEL_MODALITY]
    if not arms:
        raise AnalysisUnavailable("no submitted readings with ground truth yet")
    chosen = arms if scope == "both" else [scope]
    if not set(chosen) & set(arms):
        raise AnalysisUnavailable(f"no submitted readings in the {scope} arm yet")
    has_model = MODEL_MODALITY in data.modalities
    rows, coverage = restrict(data.rows, chosen + ([MODEL_MODALITY] if has_model else []), subgroup, data.attributes)
    if not rows:
        raise AnalysisUnavailable("no case was rated by every included reader" + (" in this subgroup" if subgroup else ""))
    reader_arm = Arm.Kind.UNAIDED if Arm.Kind.UNAIDED in chosen else chosen[0]
    run = data.model_run
    provenance = {
        "study": study.name, "protocol_version": study.protocol_version, "truth_version": data.truth_version,
        "answers": answers, "answers_label": ANSWERS_LABELS[answers], "has_amendments": amended,
        "hybrid_lambda": study.hybrid_lambda, "hybrid_lambda_source": "protocol (pre-specified)",
        "sequence_design": study.sequence_design, "split_cases": study.split_cases, "unit": study.unit,
        "model_run": run.pk if run else None, "model_version": run.model_version.name if run else None,
        "scope": scope, "subgroup": list(subgroup) if subgroup else None, "seed": study.seed,
    }
    key = hashlib.sha256(json.dumps([rows, scope, subgroup, replicates, study.seed, provenance],
                                    sort_keys=True, default=str).encode()).hexdigest()[:20]
    directory = Path(settings.MEDIA_ROOT) / "analysis" / str(study.pk) / key
    results_path = directory / "results.json"
    if not results_path.exists():
        try:
            ratings = ratings_from_rows(rows)
        except RatingsError as error:
            raise AnalysisUnavailable(str(error)) from None
        if ratings.truth.all() or not ratings.truth.any():
            raise AnalysisUnavailable("the analysed cases are all positive or all negative; an AUC needs both")
        crossover, crossover_note = _crossover(study, scope, arms, rows)
        analysis = report.analyse(
            ratings, model_modality=MODEL_MODALITY if has_model else None, reader_modality=reader_arm,
            replicates=replicates, seed=study.seed, lam=study.hybrid_lambda,
            source=f"study {study.name!r}, scope {scope}" + (f", subgroup {subgroup[0]}={subgroup[1]}" if subgroup else "")
            + f"; {ANSWERS_LABELS[answers].lower()}",
            crossover=crossover, crossover_note=crossover_note, provenance=provenance,
        )
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=directory.parent))
        report.write_report(analysis, tmp)
        try:
            tmp.rename(directory)  # atomic: a concurrent request sees either no report or a complete one
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another request finished the same report first
    results = json.loads(results_path.read_text())
    return StudyAnalysisResult(study=study, scope=scope, subgroup=subgroup, results=results, directory=directory,
                               coverage=coverage, model_run=run, subgroups=subgroup_options(data.attributes),
                               exams_without_truth=data.exams_without_truth, answers=answers, has_amendments=amended,
                               truth_version=data.truth_version, model_note=data.model_note)
