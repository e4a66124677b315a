"""The demo study: what a newcomer sees after `make demo`. Every step is idempotent.

1. 40 synthetic phantom exams (DICOM, reduced size so the first start takes a few minutes at
   most) imported through the same ingest path as real exams, with their ground truth;
2. a demonstration model trained on separate phantoms (clearly labelled: not diagnostic), registered;
3. a counterbalanced crossover study (unaided and AI-aided arm, 0-day washout) created through the
   study services: the coordinator creates it (and so is its coordinator), the four demo readers
   join as readers (randomised, seeded, into the two sequence groups: two readers each) and the
   statistician as its statistician; one reading set of the 40 exams, every reader assigned to it
   (session 1 in the first modality of their group, session 2 in the other);
4. the demonstration model run over the study's exams, here, in this process (the run's Celery
   tasks are executed eagerly: nothing is left on the broker for the worker), because a study
   opens only with a completed AI-aided run covering every exam (`lifecycle.run_problems`);
5. the run attached to the AI-aided arm and the study opened: protocol version 1, frozen.

A demo database from before per-study roles (the demo study without a coordinator membership) is
left alone: setup says so and how to start over (`make clean-demo`).
"""
import os
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from readerstudy.exams import phantoms
from readerstudy.exams.ingest import find_exam, ingest_paths
from readerstudy.exams.models import BreastTruth, Exam
from readerstudy.exams.truth import import_truth
from readerstudy.predictions import runs
from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion
from readerstudy.predictions.registry import register_weights
from readerstudy.studies import lifecycle, memberships
from readerstudy.studies.assignments import assign
from readerstudy.studies.blinding import is_unblinded
from readerstudy.studies.model_runs import describe as describe_run
from readerstudy.studies.model_runs import start_study_run
from readerstudy.studies.models import Arm, Assignment, Membership, ReadingSet, Study
from readerstudy.studies.reading_sets import create_reading_set

DEMO_STUDY = "Demo study (synthetic phantoms)"
DEMO_SET = "Demo reading set"
DEMO_MODEL = "Demonstration model (synthetic phantoms, not diagnostic)"
DEMO_EXAMS = int(os.environ.get("DEMO_EXAMS", "40"))
DEMO_SIZE = phantoms.parse_size(os.environ.get("DEMO_PHANTOM_SIZE", "1024x832"))
PHANTOM_SEED = 2026
TRAINING_SEED = 7
STUDY_SEED = 20261127
RUN_BATCH_SIZE = 4  # exams per task: the model's forward passes are batched, the model loaded once

Role = Membership.Role


class DemoError(RuntimeError):
    """The demo cannot be set up; the message says why."""


def seed_demo(users: dict, roles: dict, write) -> Study | None:
    """`users`: username -> user; `roles`: username -> demo role. Returns the demo study, or None when
    an existing demo study cannot be brought up to date (the message says what to do)."""
    coordinator = users["coordinator"]
    readers = [users[name] for name, role in roles.items() if role == Role.READER]
    statisticians = [users[name] for name, role in roles.items() if role == Role.STATISTICIAN]

    study = Study.objects.filter(name=DEMO_STUDY).first()
    if study is not None and not Membership.objects.filter(study=study, user=coordinator, role=Role.COORDINATOR).exists():
        write(f"The study {study.name!r} in this database was made before studies had their own members "
              "(it has no coordinator member), so it is left as it is. Start the demo over with "
              "`make clean-demo` (deletes var/: database, images, demo model) and then `make demo`.")
        return None

    exams = _exams(coordinator, write)
    version = _model(coordinator, write)
    if study is None:
        study = lifecycle.create_study(
            coordinator, name=DEMO_STUDY, sequence_design=Study.SequenceDesign.COUNTERBALANCED, washout_days=0,
            seed=STUDY_SEED,
            description="A counterbalanced crossover reader study on synthetic phantom exams: half of the readers "
            "read unaided first and then with the model's output, the other half the other way round. "
            "No patient data; the model is a demonstration model, not a diagnostic one.",
        )
        write(f"Created the draft study {study.name!r} (counterbalanced, washout 0 days, seed {STUDY_SEED}).")
    else:
        write(f"Found the study {study.name!r} ({study.get_status_display().lower()}).")

    if study.is_draft:
        _members(study, coordinator, readers, statisticians, write)
        reading_set = _reading_set(study, exams, coordinator, write)
        _assignments(study, reading_set, readers, coordinator, write)
        run = _run(study, reading_set, version, coordinator, write)
        aided = study.arms.get(kind=Arm.Kind.AI_AIDED)
        if aided.model_run_id != run.pk:
            lifecycle.configure_arm(aided, coordinator, model_run=run)
            write(f"The AI-aided arm shows run {run.pk}.")
        lifecycle.open_study(study, coordinator)
        write(f"Opened the study: protocol version {study.protocol_version} is frozen; reading can begin.")
    _where_to_start(study, write)
    return study


def _exams(coordinator, write) -> list[Exam]:
    folder = Path(settings.VAR_DIR) / "demo" / "phantoms"
    labels_csv = folder / "truth.csv"
    if not labels_csv.exists():
        write(f"Generating {DEMO_EXAMS} phantom exams ({DEMO_SIZE[0]} x {DEMO_SIZE[1]}) in {folder} ...")
        phantoms.generate(DEMO_EXAMS, folder, size=DEMO_SIZE, fmt="dicom", seed=PHANTOM_SEED)
    rows = [line for line in labels_csv.read_text().splitlines()[1:] if line.strip()]
    exam_ids = sorted({line.split(",")[0] for line in rows})
    if all(find_exam(exam_id) for exam_id in exam_ids):
        write(f"The {len(exam_ids)} phantom exams are already imported.")
    else:
        report = ingest_paths(sorted(folder.glob("*.dcm")), user=coordinator)
        counts = Counter(result.status for result in report.results)
        write(f"Imported phantom images: {dict(counts)}.")
        if counts.get("rejected"):
            rejected = [f"{r.name}: {r.message}" for r in report.results if r.status == "rejected"]
            raise DemoError("demo phantoms were rejected: " + "; ".join(rejected[:5]))
    exams = sorted((find_exam(exam_id) for exam_id in exam_ids), key=lambda exam: exam.label)
    if BreastTruth.objects.filter(exam__in=exams).count() >= len(rows):
        write(f"Ground truth is stored for the {len(rows)} breasts.")
    else:  # an import that changes nothing would still be audited: import only what is missing
        stored, errors = import_truth(labels_csv.read_text(), user=coordinator, source=labels_csv.name,
                                      reason="Ground truth of the demo's synthetic phantoms.")
        if errors:
            raise DemoError("demo truth did not import: " + "; ".join(str(e) for e in errors[:5]))
        write(f"Ground truth stored for {stored} breasts.")
    return exams


def _model(coordinator, write) -> ModelVersion:
    version = ModelVersion.objects.filter(name=DEMO_MODEL).first()
    if version is not None:
        write(f"Found {version}.")
        return version
    from classifier.train import train

    folder = Path(settings.VAR_DIR) / "demo" / "training"
    checkpoint = Path(settings.VAR_DIR) / "demo" / "demo-model.pt"
    if not checkpoint.exists():
        write("Training the demonstration model on separate phantoms (a few minutes on 2 CPU cores) ...")
        if not (folder / "exam_list.json").exists():
            phantoms.generate(DEMO_EXAMS, folder, size=DEMO_SIZE, fmt="png", seed=TRAINING_SEED)
        train(folder / "exam_list.json", folder, folder / "labels.csv", checkpoint, seed=0)
    version = register_weights(checkpoint, name=DEMO_MODEL, actor=coordinator,
                               notes="Trained on synthetic phantoms for the demo. Not a diagnostic model.")
    write(f"Registered {version}.")
    return version


def _members(study, coordinator, readers, statisticians, write) -> None:
    for user, role in [(reader, Role.READER) for reader in readers] + [(s, Role.STATISTICIAN) for s in statisticians]:
        if Membership.objects.filter(study=study, user=user).exists():
            continue
        membership = memberships.add_member(study, user, role, coordinator)
        group = f" (sequence group: {membership.get_sequence_group_display()})" if role == Role.READER else ""
        write(f"Added {user.get_username()} as a {membership.get_role_display().lower()}{group}.")


def _reading_set(study, exams, coordinator, write) -> ReadingSet:
    existing = ReadingSet.objects.filter(study=study, name=DEMO_SET).first()
    if existing is not None:
        return existing
    reading_set = create_reading_set(study, coordinator, name=DEMO_SET, exam_ids=[e.pk for e in exams])
    write(f"Reading set {DEMO_SET!r} with {len(exams)} exams.")
    return reading_set


def _assignments(study, reading_set, readers, coordinator, write) -> None:
    for reader in readers:
        if Assignment.objects.filter(reader=reader, reading_set=reading_set).exists():
            continue
        created = assign(reading_set, reader, coordinator)
        sessions = ", ".join(f"session {a.session}: {a.arm.get_kind_display()}" for a in sorted(created, key=lambda a: a.session))
        write(f"Assigned {reader.get_username()} to {reading_set.name!r} ({sessions}).")


@contextmanager
def _tasks_in_this_process():
    """Celery tasks sent in this block run here and now (eagerly) instead of going to the broker."""
    from readerstudy.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = eager


def _run(study, reading_set, version, coordinator, write) -> ModelRun:
    """The demonstration model's completed run over the study's exams: started and executed here."""
    run = (ModelRun.objects.filter(model_version=version, description=describe_run(study, reading_set))
           .exclude(status__in=[ModelRun.Status.FAILED, ModelRun.Status.CANCELLED]).order_by("-pk").first())
    if run is not None and run.status == ModelRun.Status.DONE:
        write(f"Found the completed model run {run.pk}.")
        return run
    # The demo model is image-only: without a patch model it makes no heatmaps (and would make only exact ones).
    options = {"heatmaps": bool(version.heatmap_weights_file), "heatmap_mode": "exact", "batch_size": RUN_BATCH_SIZE}
    if run is None:
        write(f"Running the demonstration model over the {len(reading_set.exam_ids())} exams here "
              "(no worker needed; the study opens only with a completed run) ...")
    else:
        left = run.items.filter(state__in=ModelRunItem.UNFINISHED).count()
        write(f"Resuming model run {run.pk}: {left} of its {run.items.count()} exams are left ...")
    started = time.monotonic()
    with _tasks_in_this_process():
        if run is None:
            # The run's tasks are sent when its transaction commits: with eager tasks, they run then.
            run = start_study_run(study, version, reading_set=reading_set, options=options, by=coordinator)
        else:  # an earlier setup stopped during the run: predict what is left
            runs.resume_run(run, actor=coordinator)
    run.refresh_from_db()
    elapsed = time.monotonic() - started
    if run.status != ModelRun.Status.DONE:
        failed = run.items.exclude(state=ModelRunItem.State.DONE).values_list("exam__label", "error")[:5]
        raise DemoError(f"the demo model run {run.pk} ended {run.get_status_display().lower()}: "
                        + "; ".join(f"{label}: {error}" for label, error in failed))
    write(f"Model run {run.pk} done: {run.predictions.count()} exams in {elapsed:.1f} s.")
    return run


def _where_to_start(study, write) -> None:
    readers = Membership.objects.filter(study=study, role=Role.READER).select_related("user").order_by("user__username")
    groups = "; ".join(
        f"{label}: {', '.join(m.user.get_username() for m in readers if m.sequence_group == value)}"
        for value, label in Membership.Sequence.choices)
    write("")
    write(f"Where to start (log in with a demo account), study {study.name!r} is {study.get_status_display().lower()}, "
          f"protocol version {study.protocol_version}:")
    write(f"  readers ({groups}): /read/ - your worklist; session 1 is read in your group's first modality, "
          "session 2 in the other; a finished session is locked.")
    write(f"  coordinator: /studies/ - the study's page (/studies/{study.pk}/), members, reading set, model run, "
          "progress counts.")
    if is_unblinded(study):
        write("  statistician: /analysis/ - the study is unblinded: the MRMC analysis and exports are available.")
    else:
        write("  statistician: /analysis/ - the study is blinded while open: no number derived from answers is shown "
              "until the coordinator closes it or records an interim unblinding (with a reason).")
