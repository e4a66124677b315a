"""Run the statistics on a study and keep the report files, computed once per data and settings.

The pure `report.analyse` / `report.write_report` do the work; this module picks the scope
(arms, subgroup), fingerprints the exact input so a page reload never recomputes 10,000
replicates, and stores the files under MEDIA_ROOT/analysis/<study>/<fingerprint>/.
"""
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from readerstudy.analysis import report
from readerstudy.analysis.ratings import RatingsError, ratings_from_rows
from readerstudy.analysis.study_ratings import MODEL_MODALITY, restrict, study_ratings, subgroup_options
from readerstudy.studies.models import Arm, Study

SCOPES = ("both", Arm.Kind.UNAIDED, Arm.Kind.AI_AIDED)
REPORT_FILES = (
    "results.json", "reader_aucs.csv", "bootstrap_aucs.csv", "mrmc_comparisons.csv", "operating_points.csv",
    "lambda_sweep.csv", "roc.png", "roc.svg", "roc.pdf", "lambda_sweep.png", "lambda_sweep.svg",
    "lambda_sweep.pdf", "summary.pdf",
)


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

    def files(self) -> list[str]:
        return [name for name in REPORT_FILES if (self.directory / name).exists()]


def analyse_study(study: Study, scope: str = "both", subgroup: tuple[str, str] | None = None,
                  replicates: int = 10_000) -> StudyAnalysisResult:
    if scope not in SCOPES:
        raise AnalysisUnavailable(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    data = study_ratings(study)
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
    key = hashlib.sha256(json.dumps([rows, scope, subgroup, replicates, study.seed], sort_keys=True).encode()).hexdigest()[:20]
    directory = Path(settings.MEDIA_ROOT) / "analysis" / str(study.pk) / key
    results_path = directory / "results.json"
    if not results_path.exists():
        try:
            ratings = ratings_from_rows(rows)
        except RatingsError as error:
            raise AnalysisUnavailable(str(error)) from None
        if ratings.truth.all() or not ratings.truth.any():
            raise AnalysisUnavailable("the analysed cases are all positive or all negative; an AUC needs both")
        analysis = report.analyse(
            ratings, model_modality=MODEL_MODALITY if has_model else None, reader_modality=reader_arm,
            replicates=replicates, seed=study.seed, source=f"study {study.name!r}, scope {scope}"
            + (f", subgroup {subgroup[0]}={subgroup[1]}" if subgroup else ""),
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
                               coverage=coverage, model_run=data.model_run, subgroups=subgroup_options(data.attributes),
                               exams_without_truth=data.exams_without_truth)
