"""The coordinator's model pages, the API and the commands (tasks are captured, not run)."""
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from readerstudy.predictions import runs, tasks
from readerstudy.predictions.models import ModelRun, ModelVersion
from tests.predictions.builders import make_exam, make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Tasks that would have gone to the broker."""
    queued = []

    class Result:
        id = "captured"

    monkeypatch.setattr(tasks.predict_exams, "apply_async", lambda args, queue: queued.append((args, queue)) or Result())
    return queued


@pytest.fixture
def people(make_user):
    return {role: make_user(role, role) for role in ("coordinator", "statistician", "reader")}


@pytest.fixture
def reading_set():
    return make_study([make_exam(i, size=(300, 240)) for i in range(3)])[1]


@pytest.fixture
def version(tiny_model_path):
    from readerstudy.predictions import registry

    return registry.register_weights(tiny_model_path, name="tiny")


@pytest.mark.parametrize("name", ["predictions:registry", "predictions:start-run"])
def test_pages_are_for_coordinators(client, people, name):
    client.force_login(people["coordinator"])
    assert client.get(reverse(name)).status_code == 200
    for role in ("statistician", "reader"):
        client.force_login(people[role])
        assert client.get(reverse(name)).status_code == 403


def test_register_by_path(client, people, tiny_model_path):
    client.force_login(people["coordinator"])
    response = client.post(reverse("predictions:registry"), {"name": "tiny", "weights_path": str(tiny_model_path)})
    assert response.status_code == 302
    version = ModelVersion.objects.get(name="tiny")
    assert version.created_by == people["coordinator"]
    page = client.get(reverse("predictions:registry")).content.decode()
    assert "demonstration model, not diagnostic" in page and version.sha256[:16] in page


def test_register_error_is_shown(client, people, tmp_path):
    client.force_login(people["coordinator"])
    response = client.post(reverse("predictions:registry"), {"name": "x", "weights_path": str(tmp_path / "none.p")})
    assert response.status_code == 200 and "not found" in response.content.decode()


def test_start_run_page_dashboard_progress_and_cancel(client, people, version, reading_set, sent, django_capture_on_commit_callbacks):
    client.force_login(people["coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("predictions:start-run"), {
            "model_version": version.pk, "reading_set": reading_set.pk, "tta": 1, "seed": 0, "batch_size": 2,
            "heatmaps": "on", "heatmap_mode": "exact",
        })
    run = ModelRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("predictions:run", args=[run.pk])
    assert len(sent) == 2 and run.created_by == people["coordinator"]
    dashboard = client.get(reverse("predictions:run", args=[run.pk])).content.decode()
    assert reverse("predictions:run-progress", args=[run.pk]) in dashboard and "Cancel the run" in dashboard
    progress = client.get(reverse("predictions:run-progress", args=[run.pk])).json()
    assert (progress["total"], progress["pending"], progress["finished"]) == (3, 3, False)
    assert client.post(reverse("predictions:run-cancel", args=[run.pk])).status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled" and runs.progress(run).cancelled == 3


def test_start_run_needs_one_source(client, people, version, reading_set):
    client.force_login(people["coordinator"])
    response = client.post(reverse("predictions:start-run"), {
        "model_version": version.pk, "reading_set": reading_set.pk, "study": reading_set.study_id,
        "tta": 1, "seed": 0, "batch_size": 1, "heatmap_mode": "exact",
    })
    assert response.status_code == 200 and "either a reading set or a study" in response.content.decode()
    assert not ModelRun.objects.exists()


def test_api_coordinators_write_statisticians_read(client, people, version, reading_set, sent, django_capture_on_commit_callbacks):
    client.force_login(people["statistician"])
    assert client.get("/api/model-versions/").status_code == 200
    assert client.post("/api/model-runs/", {"model_version": version.pk, "reading_set": reading_set.pk},
                       content_type="application/json").status_code == 403
    client.force_login(people["reader"])
    assert client.get("/api/model-runs/").status_code == 403
    client.force_login(people["coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/model-runs/", {"model_version": version.pk, "reading_set": reading_set.pk,
                                                    "options": {"tta": 2}}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["options"]["tta"] == 2 and body["progress"]["total"] == 3 and len(sent) == 3
    run_id = body["id"]
    client.force_login(people["statistician"])
    assert client.get(f"/api/model-runs/{run_id}/progress/").json()["pending"] == 3
    assert client.get(f"/api/model-runs/{run_id}/predictions/").status_code == 200
    assert client.post(f"/api/model-runs/{run_id}/cancel/").status_code == 403
    client.force_login(people["coordinator"])
    assert client.post(f"/api/model-runs/{run_id}/cancel/").json()["status"] == "cancelled"
    assert client.post(f"/api/model-runs/{run_id}/cancel/").status_code == 409


def test_api_rejects_bad_options(client, people, version, reading_set):
    client.force_login(people["coordinator"])
    response = client.post("/api/model-runs/", {"model_version": version.pk, "reading_set": reading_set.pk,
                                                "options": {"tta": 99}}, content_type="application/json")
    assert response.status_code == 400 and "tta" in response.content.decode()


def test_api_registers_by_path(client, people, tiny_model_path):
    client.force_login(people["coordinator"])
    response = client.post("/api/model-versions/", {"name": "via api", "weights_file": str(tiny_model_path)},
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["variant"] == "image_only"


def test_commands_register_and_run(tiny_model_path, reading_set, sent, django_capture_on_commit_callbacks):
    call_command("register_model", "tiny", str(tiny_model_path))
    call_command("register_model", "tiny", str(tiny_model_path), "--if-absent")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_model", "--model", "tiny", "--reading-set", str(reading_set.pk), "--batch-size", "3")
    run = ModelRun.objects.get()
    assert run.items.count() == 3 and len(sent) == 1
    with pytest.raises(CommandError, match="no model version"):
        call_command("run_model", "--model", "absent", "--reading-set", str(reading_set.pk))
    with pytest.raises(CommandError, match="not finished"):
        call_command("run_model", "--resume", str(run.pk), "--wait", "--timeout", "0")
    assert len(sent) == 2  # --resume sent the unfinished exams again
