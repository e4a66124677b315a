"""Model output reaches a reader only in an AI-aided arm that is open and holds the exam; never in
the unaided arm. The overlay lives in the studies app (studies/ai_overlay.py, studies/views/overlay.py);
these tests stay here beside the heatmaps they serve."""
import numpy as np
import pytest
from django.urls import reverse

from readerstudy.predictions import heatmaps, inference
from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction
from readerstudy.studies import ai_overlay as overlay
from readerstudy.studies import lifecycle, submission
from readerstudy.studies.models import Arm, Assignment
from tests.predictions.builders import make_exam
from tests.studies.factories import add_members, answers, attach_run, make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(make_user):
    coordinator = make_user("coord", "coordinator")
    reader = make_user("reader")
    exams = [make_exam(i, size=(300, 240)) for i in range(3)]
    # Fixed sequence: every reader reads unaided first (session 1), then AI-aided (session 2).
    study = make_study(coordinator, name="Overlay study", exams=exams[:2], readers=[reader], status="draft",
                       sequence_design="unaided_first")
    version = ModelVersion.objects.create(name="m", variant="image_only", weights_file="/w", sha256="0" * 64, demonstration=True)
    run = ModelRun.objects.create(model_version=version, status="done", created_by=coordinator,
                                  options={"heatmaps": True, "heatmap_mode": "exact"})
    values = np.zeros((300, 240), dtype=np.float32)
    values[100:150, 60:120] = 0.9
    for exam in exams:
        stored = heatmaps.store(run, exam.pk, {view: inference.ViewHeatmaps(values, values) for view in ("L-CC", "R-CC")})
        Prediction.objects.create(run=run, exam=exam, left_benign=0.2, right_benign=0.1, left_malignant=0.7,
                                  right_malignant=0.05, heatmaps=stored)
    attach_run(study, coordinator, run=run)
    lifecycle.open_study(study, coordinator)
    mine = Assignment.objects.filter(reader=reader, arm__study=study)
    return {
        "coordinator": coordinator, "reader": reader, "exams": exams, "run": run, "study": study,
        "unaided": mine.get(arm__kind=Arm.Kind.UNAIDED), "aided": mine.get(arm__kind=Arm.Kind.AI_AIDED),
    }


def finish_unaided(setup):
    assignment = setup["unaided"]
    for n, exam_id in enumerate(assignment.case_order):
        submission.submit(assignment, exam_id, answers(10, 1), client_key=f"unaided-{n}")


def test_never_in_the_unaided_arm(setup, client):
    exam = setup["exams"][0]
    assert overlay.ai_overlay(setup["unaided"], exam.pk) is None
    client.force_login(setup["reader"])
    assert client.get(reverse("reader:overlay", args=[setup["unaided"].pk, exam.pk])).status_code == 404
    url = reverse("reader:overlay-heatmap", args=[setup["unaided"].pk, exam.pk, "L-CC", "malignant"])
    assert client.get(url).status_code == 404


def test_not_before_the_ai_arm_opens(setup, client):
    # Crossover: while the reader still reads these exams unaided, the AI arm's output stays hidden.
    exam = setup["exams"][0]
    assert overlay.ai_overlay(setup["aided"], exam.pk) is None
    client.force_login(setup["reader"])
    url = reverse("reader:overlay-heatmap", args=[setup["aided"].pk, exam.pk, "L-CC", "malignant"])
    assert client.get(url).status_code == 404


def test_in_the_open_ai_arm_with_probabilities_and_heatmaps(setup, client):
    finish_unaided(setup)
    exam = setup["exams"][0]
    data = overlay.ai_overlay(setup["aided"], exam.pk)
    assert data["available"] and data["demonstration"] and data["run"] == setup["run"].pk
    assert data["malignant"] == {"left": 0.7, "right": 0.05}
    assert set(data["views"]) == {"L-CC", "R-CC"}
    assert data["urls"]["self"] == reverse("reader:overlay", args=[setup["aided"].pk, exam.pk])
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
    url = reverse("reader:overlay-heatmap", args=[setup["aided"].pk, outsider.pk, "L-CC", "malignant"])
    assert client.get(url).status_code == 404


def test_not_for_another_reader_or_the_coordinator(setup, client, make_user):
    finish_unaided(setup)
    exam = setup["exams"][0]
    url = reverse("reader:overlay", args=[setup["aided"].pk, exam.pk])
    heatmap = reverse("reader:overlay-heatmap", args=[setup["aided"].pk, exam.pk, "L-CC", "malignant"])
    colleague = make_user("colleague")
    add_members(setup["study"], setup["coordinator"], readers=[colleague])
    for user in (make_user("outsider"), colleague, setup["coordinator"]):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
        assert client.get(heatmap).status_code == 404, user
    client.logout()
    assert client.get(url).status_code in (302, 403, 404)


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
