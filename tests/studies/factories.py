"""Small builders for studies tests: accounts, exams with ground truth, a study with members, a
reading set, a completed model run for the AI-aided arm, and assignments."""
import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from readerstudy.accounts.roles import STUDY_CREATORS
from readerstudy.exams.models import BreastTruth, Exam, Image
from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction
from readerstudy.studies import assignments, lifecycle, memberships, reading_sets
from readerstudy.studies.models import Arm, Membership

# (left malignant, left benign, right malignant, right benign): cycles through every stratum.
TRUTH_CYCLE = [(True, False, False, False), (False, True, False, False), (False, False, False, False), (False, False, False, True)]


def make_account(username, *roles, **extra):
    """A user with password 'pw-<username>'; "coordinator" among `roles` makes them a study creator."""
    user = get_user_model().objects.create_user(username=username, password=f"pw-{username}", **extra)
    if "coordinator" in roles:
        user.groups.add(Group.objects.get_or_create(name=STUDY_CREATORS)[0])
    return user


def make_exams(n: int, prefix: str = "EX", with_truth: bool = True, images: bool = False) -> list[Exam]:
    exams = []
    for i, truth in zip(range(n), itertools.cycle(TRUTH_CYCLE)):
        exam = Exam.objects.create(label=f"{prefix}-{i:03d}", source=Exam.Source.DICOM)
        if with_truth:
            BreastTruth.objects.create(exam=exam, side="L", malignant=truth[0], benign=truth[1], source="test")
            BreastTruth.objects.create(exam=exam, side="R", malignant=truth[2], benign=truth[3], source="test")
        if images:
            for view in ("L-CC", "R-CC", "L-MLO", "R-MLO"):
                Image.objects.create(exam=exam, view=view, sop_instance_uid=f"1.2.3.{exam.pk}.{view}", rows=8, columns=6, bits_stored=12)
        exams.append(exam)
    return exams


def completed_run(exam_ids, *, by=None, name="test model", malignant=0.5, options=None) -> ModelRun:
    """A finished model run with a prediction for every exam (what opening a study requires)."""
    version, _ = ModelVersion.objects.get_or_create(
        name=name, defaults={"variant": ModelVersion.Variant.IMAGE_ONLY, "weights_file": "/nowhere.pt", "sha256": "0" * 64})
    run = ModelRun.objects.create(model_version=version, status=ModelRun.Status.DONE, created_by=by,
                                  options=options or {"heatmaps": False})
    Prediction.objects.bulk_create(
        Prediction(run=run, exam_id=exam_id, left_benign=0.1, right_benign=0.1, left_malignant=malignant, right_malignant=malignant)
        for exam_id in exam_ids)
    return run


def attach_run(study, by, run=None) -> ModelRun:
    """Point the AI-aided arm at `run` (default: a new completed run over the study's exams)."""
    if run is None:
        run = completed_run(sorted(lifecycle.study_exam_ids(study)), by=by)
    lifecycle.configure_arm(study.arms.get(kind=Arm.Kind.AI_AIDED), by, model_run=run, reason="test")
    return run


def add_members(study, by, *, readers=(), statisticians=(), coordinators=()):
    for role, users in ((Membership.Role.READER, readers), (Membership.Role.STATISTICIAN, statisticians),
                        (Membership.Role.COORDINATOR, coordinators)):
        for user in users:
            memberships.add_member(study, user, role, by)


def make_study(coordinator, *, name="Study", exams=4, readers=(), statisticians=(), status="open", washout_days=0,
               allow_amendments=False, seed=1234, sequence_design="counterbalanced", split_cases=False):
    """A study whose reading set holds `exams` new exams (or the given ones), with its readers and
    statisticians as members, each reader assigned (both sessions), and a completed model run on
    the AI-aided arm."""
    study = lifecycle.create_study(coordinator, name=name, washout_days=washout_days, allow_amendments=allow_amendments,
                                   seed=seed, sequence_design=sequence_design, split_cases=split_cases)
    exam_rows = make_exams(exams, prefix=name.replace(" ", "")) if isinstance(exams, int) else exams
    reading_set = reading_sets.create_reading_set(study, coordinator, name="Set 1", exam_ids=[e.pk for e in exam_rows])
    add_members(study, coordinator, readers=readers, statisticians=statisticians)
    for reader in readers:
        assignments.assign(reading_set, reader, coordinator)
    attach_run(study, coordinator)
    if status in ("open", "closed"):
        lifecycle.open_study(study, coordinator)
    if status == "closed":
        lifecycle.close_study(study, coordinator)
    return study


def first_session(study, reader):
    """The reader's assignments of session 1 (one, or two with split halves)."""
    return list(reader.assignments.filter(arm__study=study, session=1).order_by("arm__position"))


def answers(probability=50.0, birads=2) -> dict:
    return {"left_probability": probability, "right_probability": probability, "left_birads": birads, "right_birads": birads}
