"""The demo study: what a newcomer sees after `make demo`. Every step is idempotent.

1. 40 synthetic phantom exams (DICOM, reduced size so the first start takes a few minutes at
   most) imported through the same ingest path as real exams, with their ground truth;
2. a crossover study with an unaided and an AI-aided arm and a 0-day washout, one reading set,
   both demo readers assigned to both arms (each with their own random order);
3. a demonstration model trained on separate phantoms (clearly labelled: not diagnostic),
   registered, and a run over the reading set queued for the worker that `serve_demo` starts;
   the AI-aided arm shows that run's output.
"""
import os
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.db import transaction

from readerstudy.exams import phantoms
from readerstudy.exams.ingest import find_exam, ingest_paths
from readerstudy.exams.models import Exam
from readerstudy.exams.truth import import_truth
from readerstudy.predictions.models import ModelRun, ModelVersion
from readerstudy.predictions.registry import register_weights
from readerstudy.predictions.runs import start_run
from readerstudy.studies.assignments import assign
from readerstudy.studies.models import Arm, Assignment, ReadingSet, Study
from readerstudy.studies.reading_sets import create_reading_set

DEMO_STUDY = "Demo study (synthetic phantoms)"
DEMO_SET = "Demo reading set"
DEMO_MODEL = "Demonstration model (synthetic phantoms, not diagnostic)"
DEMO_EXAMS = int(os.environ.get("DEMO_EXAMS", "40"))
DEMO_SIZE = phantoms.parse_size(os.environ.get("DEMO_PHANTOM_SIZE", "1024x832"))
PHANTOM_SEED = 2026
TRAINING_SEED = 7


def seed_demo(users: dict, write) -> Study:
    coordinator = users["coordinator"]
    study = _study(coordinator, write)
    exams = _exams(coordinator, write)
    reading_set = _reading_set(study, exams, coordinator, write)
    _assignments(study, reading_set, [u for name, u in users.items() if name.startswith("reader")], coordinator, write)
    version = _model(coordinator, write)
    _run(study, reading_set, version, coordinator, write)
    return study


def _study(coordinator, write) -> Study:
    study, created = Study.objects.get_or_create(
        name=DEMO_STUDY,
        defaults={
            "description": "A crossover reader study on synthetic phantom exams: read unaided first, then with the "
            "model's output. No patient data; the model is a demonstration model, not a diagnostic one.",
            "created_by": coordinator, "status": Study.Status.OPEN, "seed": 20261127, "washout_days": 0,
        },
    )
    Arm.objects.get_or_create(study=study, kind=Arm.Kind.UNAIDED, defaults={"position": 0})
    Arm.objects.get_or_create(study=study, kind=Arm.Kind.AI_AIDED, defaults={"position": 1})
    write(f"{'Created' if created else 'Found'} the study {study.name!r}.")
    return study


def _exams(coordinator, write) -> list[Exam]:
    folder = Path(settings.VAR_DIR) / "demo" / "phantoms"
    labels_csv = folder / "truth.csv"
    if not labels_csv.exists():
        write(f"Generating {DEMO_EXAMS} phantom exams ({DEMO_SIZE[0]} x {DEMO_SIZE[1]}) in {folder} ...")
        phantoms.generate(DEMO_EXAMS, folder, size=DEMO_SIZE, fmt="dicom", seed=PHANTOM_SEED)
    exam_ids = sorted({line.split(",")[0] for line in labels_csv.read_text().splitlines()[1:] if line})
    if all(find_exam(exam_id) for exam_id in exam_ids):
        write(f"The {len(exam_ids)} phantom exams are already imported.")
    else:
        report = ingest_paths(sorted(folder.glob("*.dcm")), user=coordinator)
        counts = Counter(result.status for result in report.results)
        write(f"Imported phantom images: {dict(counts)}.")
        if counts.get("rejected"):
            rejected = [f"{r.name}: {r.message}" for r in report.results if r.status == "rejected"]
            raise RuntimeError("demo phantoms were rejected: " + "; ".join(rejected[:5]))
    stored, errors = import_truth(labels_csv.read_text(), user=coordinator)
    if errors:
        raise RuntimeError("demo truth did not import: " + "; ".join(str(e) for e in errors[:5]))
    write(f"Ground truth stored for {stored} breasts.")
    return list(Exam.objects.filter(truths__isnull=False).distinct().order_by("label"))


def _reading_set(study, exams, coordinator, write) -> ReadingSet:
    existing = ReadingSet.objects.filter(study=study, name=DEMO_SET).first()
    if existing is not None:
        return existing
    reading_set = create_reading_set(study, coordinator, name=DEMO_SET, exam_ids=[e.pk for e in exams])
    write(f"Reading set {DEMO_SET!r} with {len(exams)} exams.")
    return reading_set


def _assignments(study, reading_set, readers, coordinator, write) -> None:
    for arm in study.arms.order_by("position"):
        for reader in readers:
            if not Assignment.objects.filter(reader=reader, reading_set=reading_set, arm=arm).exists():
                assign(reading_set, arm, reader, coordinator)
                write(f"Assigned {reader.username} to the {arm.get_kind_display()} arm.")


def _model(coordinator, write) -> ModelVersion:
    version = ModelVersion.objects.filter(name=DEMO_MODEL).first()
    if version is not None:
        return version
    from classifier.train import train

    folder = Path(settings.VAR_DIR) / "demo" / "training"
    checkpoint = Path(settings.VAR_DIR) / "demo" / "demo-model.pt"
    if not checkpoint.exists():
        write("Training the demonstration model on separate phantoms (about a minute on 2 CPU cores) ...")
        if not (folder / "exam_list.json").exists():
            phantoms.generate(DEMO_EXAMS, folder, size=DEMO_SIZE, fmt="png", seed=TRAINING_SEED)
        train(folder / "exam_list.json", folder, folder / "labels.csv", checkpoint, seed=0)
    version = register_weights(checkpoint, name=DEMO_MODEL, actor=coordinator,
                               notes="Trained on synthetic phantoms for the demo. Not a diagnostic model.")
    write(f"Registered {version}.")
    return version


def _run(study, reading_set, version, coordinator, write) -> None:
    arm = study.arms.get(kind=Arm.Kind.AI_AIDED)
    if arm.model_run_id is not None:
        return
    with transaction.atomic():
        run = ModelRun.objects.filter(model_version=version, reading_set=reading_set).first()
        if run is None:
            run = start_run(version, reading_set=reading_set, actor=coordinator)
            write(f"Queued model run {run.pk} over {reading_set.exams.count()} exams; the worker processes it once the server starts.")
        arm.model_run = run
        arm.save(update_fields=["model_run"])
