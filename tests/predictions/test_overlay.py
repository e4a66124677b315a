"""Model output reaches a reader only in an AI-aided arm that is open and holds the exam; never in the unaided arm."""
import numpy as np
import pytest
from django.urls import reverse

from readerstudy.predictions import heatmaps, inference, overlay
from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction
from readerstudy.studies.models import Arm, Assignment, Reading, ReadingSet, ReadingSetExam, Study
from tests.predictions.builders import make_exam

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(make_user):
    coordinator = make_user("coord", "coordinator")
    reader = make_user("reader", "reader")
    exams = [make_exam(i, size=(300, 240)) for i in range(3)]
    study = Study.objects.create(name="Overlay study", status=Study.Status.OPEN, seed=1)
    unaided = Arm.objects.create(study=study, kind=Arm.Kind.UNAIDED, position=0)
    aided = Arm.objects.create(study=study, kind=Arm.Kind.AI_AIDED, position=1)
    reading_set = ReadingSet.objects.create(study=study, name="Set")
    for position, exam in enumerate(exams[:2]):
        ReadingSetExam.objects.create(reading_set=reading_set, exam=exam, position=position)
    version = ModelVersion.objects.create(name="m", variant="image_only", weights_file="/w", sha256="0" * 64, demonstration=True)
    run = ModelRun.objects.create(model_version=version, study=study, reading_set=reading_set, status="done")
    values = np.zeros((300, 240), dtype=np.float32)
    values[100:150, 60:120] = 0.9
    for exam in exams:
        stored = heatmaps.store(run, exam.pk, {view: inference.ViewHeatmaps(values, values) for view in ("L-CC", "R-CC")})
        Prediction.objects.create(run=run, exam=exam, left_benign=0.2, right_benign=0.1, left_malignant=0.7,
                                  right_malignant=0.05, heatmaps=stored)
    aided.model_run = run
    aided.save()
    order = [exams[1].pk, exams[0].pk]
    return {
        "coordinator": coordinator, "reader": reader, "exams": exams, "run": run, "study": study,
        "unaided": Assignment.objects.create(reader=reader, reading_set=reading_set, arm=unaided, case_order=order, order_seed=1),
        "aided": Assignment.objects.create(reader=reader, reading_set=reading_set, arm=aided, case_order=order, order_seed=2),
    }


def finish_unaided(setup):
    for exam in setup["exams"][:2]:
        Reading.objects.create(assignment=setup["unaided"], exam=exam, status="submitted", left_probability=10,
                               right_probability=10, left_birads=1, right_birads=1,
                               submitted_at="2026-01-01T00:00:00Z")


def test_never_in_the_unaided_arm(setup, client):
    finish_unaided(setup)
    exam = setup["exams"][0]
    assert overlay.ai_overlay(setup["unaided"], exam.pk) is None
    client.force_login(setup["reader"])
    assert client.get(reverse("predictions:overlay", args=[setup["unaided"].pk, exam.pk])).status_code == 404
    url = reverse("predictions:overlay-heatmap", args=[setup["unaided"].pk, exam.pk, "L-CC", "malignant"])
    assert client.get(url).status_code == 404


def test_not_before_the_ai_arm_opens(setup, client):
    # Crossover: while the reader still reads these exams unaided, the AI arm's output stays hidden.
    exam = setup["exams"][0]
    assert overlay.ai_overlay(setup["aided"], exam.pk) is None
    client.force_login(setup["reader"])
    url = reverse("predictions:overlay-heatmap", args=[setup["aided"].pk, exam.pk, "L-CC", "malignant"])
    assert client.get(url).status_code == 404


def test_in_the_open_ai_arm_with_probabilities_and_heatmaps(setup, client):
    finish_unaided(setup)
    exam = setup["exams"][0]
    data = overlay.ai_overlay(setup["aided"], exam.pk)
    assert data["available"] and data["demonstration"] and data["run"] == setup["run"].pk
    assert data["malignant"] == {"left": 0.7, "right": 0.05}
    assert set(data["views"]) == {"L-CC", "R-CC"}
    client.force_login(setup["reader"])
    assert client.get(data["urls"]["self"]).json() == data
    response = client.get(data["views"]["L-CC"]["malignant"])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_not_for_an_exam_outside_the_assignment(setup, client):
    finish_unaided(setup)
    outsider = setup["exams"][2]  # predicted by the run, but not in this reading set
    assert overlay.ai_overlay(setup["aided"], outsider.pk) is None
    client.force_login(setup["reader"])
    url = reverse("predictions:overlay-heatmap", args=[setup["aided"].pk, outsider.pk, "L-CC", "malignant"])
    assert client.get(url).status_code == 404


def test_not_for_another_reader_or_a_coordinator(setup, client, make_user):
    finish_unaided(setup)
    exam = setup["exams"][0]
    url = reverse("predictions:overlay", args=[setup["aided"].pk, exam.pk])
    client.force_login(make_user("other", "reader"))
    assert client.get(url).status_code == 404
    client.force_login(setup["coordinator"])
    assert client.get(url).status_code == 403


def test_an_ai_arm_without_a_run_shows_nothing(setup):
    finish_unaided(setup)
    Arm.objects.filter(pk=setup["aided"].arm_id).update(model_run=None)
    assignment = Assignment.objects.get(pk=setup["aided"].pk)
    assert overlay.ai_overlay(assignment, setup["exams"][0].pk) is None


def test_a_missing_prediction_is_said_so(setup):
    finish_unaided(setup)
    exam = setup["exams"][0]
    Prediction.objects.filter(exam=exam).delete()
    data = overlay.ai_overlay(setup["aided"], exam.pk)
    assert data["available"] is False and data["views"] == {} and data["malignant"] is None
