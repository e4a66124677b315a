"""Model runs over a study's exams (studies/model_runs.py): the study side of a run, which itself
knows nothing of studies."""
import pytest
from django.core.exceptions import ValidationError

from readerstudy.audit.models import AuditEvent
from readerstudy.predictions import runs, tasks
from readerstudy.predictions.models import ModelRun, ModelVersion
from readerstudy.studies import lifecycle, reading_sets
from readerstudy.studies.model_runs import start_study_run
from readerstudy.studies.models import Arm
from tests.studies.factories import make_exams

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sent(monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.predict_exams, "apply_async",
                        lambda args, queue: queued.append(args) or type("R", (), {"id": "t"})())
    return queued


@pytest.fixture
def version():
    return ModelVersion.objects.create(name="stub", variant="image_only", weights_file="/x", sha256="0" * 64)


@pytest.fixture
def draft(make_user):
    """A draft study with two reading sets that share one exam; its AI-aided arm has no run."""
    coordinator = make_user("coord", "coordinator")
    study = lifecycle.create_study(coordinator, name="Runs study", seed=5)
    exams = make_exams(5, prefix="RUN")
    second = reading_sets.create_reading_set(study, coordinator, name="B set", exam_ids=[exams[4].pk, exams[1].pk])
    first = reading_sets.create_reading_set(study, coordinator, name="A set", exam_ids=[e.pk for e in exams[:4]])
    return {"coordinator": coordinator, "study": study, "exams": exams, "first": first, "second": second}


def item_exams(run):
    return list(run.items.order_by("pk").values_list("exam_id", flat=True))


def test_over_one_reading_set(draft, version, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = start_study_run(draft["study"], version, reading_set=draft["second"], options={"batch_size": 2},
                              by=draft["coordinator"])
    assert item_exams(run) == draft["second"].exam_ids()
    assert run.description == "Runs study / B set" and run.created_by == draft["coordinator"]
    assert run.options["batch_size"] == 2 and run.status == ModelRun.Status.PENDING
    event = AuditEvent.objects.get(action="study.model_run_started")
    assert event.study_id == draft["study"].pk and event.object_id == str(run.pk)
    assert event.details["reading_set"] == draft["second"].pk and event.details["exams"] == 2
    assert AuditEvent.objects.get(action="model_run.started").study_id is None


def test_over_a_study_every_reading_set_in_order_each_exam_once(draft, version):
    run = start_study_run(draft["study"], version, by=draft["coordinator"])
    exams = draft["exams"]
    # "A set" (by name) first, then the exams of "B set" not read yet: exam 1 is kept where it first occurs.
    assert item_exams(run) == [exams[0].pk, exams[1].pk, exams[2].pk, exams[3].pk, exams[4].pk]
    assert run.description == "Runs study / all reading sets"


def test_a_draft_arm_is_not_attached_automatically(draft, version):
    run = start_study_run(draft["study"], version, by=draft["coordinator"])
    aided = draft["study"].arms.get(kind=Arm.Kind.AI_AIDED)
    assert aided.model_run_id is None
    lifecycle.configure_arm(aided, draft["coordinator"], model_run=run)  # attaching is the lifecycle's
    assert draft["study"].arms.get(kind=Arm.Kind.AI_AIDED).model_run == run


def test_refuses_a_reading_set_of_another_study_and_a_study_without_exams(draft, version, make_user):
    other = lifecycle.create_study(draft["coordinator"], name="Empty study", seed=6)
    with pytest.raises(ValidationError, match="not a reading set of Empty study"):
        start_study_run(other, version, reading_set=draft["first"], by=draft["coordinator"])
    with pytest.raises(ValidationError, match="no exams"):
        start_study_run(other, version, by=draft["coordinator"])
    with pytest.raises(runs.RunError, match="tta"):
        start_study_run(draft["study"], version, options={"tta": 0}, by=draft["coordinator"])
    assert not ModelRun.objects.filter(model_version=version).exists()
    assert not AuditEvent.objects.filter(action="study.model_run_started").exists()
