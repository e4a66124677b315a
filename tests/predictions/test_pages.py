"""The model pages (registry with the runs one may see, run dashboard), the study's "start a model
run" page, the API and the commands (tasks are captured, not run). Every decision is the access
policy's: roles are memberships of a study (tests/studies/factories.py)."""
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from readerstudy.predictions import runs, tasks
from readerstudy.predictions.models import ModelRun, ModelVersion
from readerstudy.studies.models import Arm
from tests.studies.factories import make_study

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
    """The coordinator (a study creator) of "Model study", its statistician and reader, and the
    coordinator of another study."""
    people = {
        "coordinator": make_user("coord", "coordinator"),
        "statistician": make_user("stat"),
        "reader": make_user("reader"),
        "other": make_user("other", "coordinator"),
        "nobody": make_user("nobody"),
    }
    people["study"] = make_study(people["coordinator"], name="Model study", exams=3, readers=[people["reader"]],
                                 statisticians=[people["statistician"]], status="draft")
    people["other_study"] = make_study(people["other"], name="Other study", exams=2, status="draft")
    return people


@pytest.fixture
def reading_set(people):
    return people["study"].reading_sets.get()


@pytest.fixture
def version(tiny_model_path):
    from readerstudy.predictions import registry

    return registry.register_weights(tiny_model_path, name="tiny")


def arm_run(study) -> ModelRun:
    return study.arms.get(kind=Arm.Kind.AI_AIDED).model_run


def test_registry_is_for_study_creators_coordinators_and_statisticians(client, people):
    for name in ("coordinator", "statistician", "other"):
        client.force_login(people[name])
        assert client.get(reverse("predictions:registry")).status_code == 200, name
    for name in ("reader", "nobody"):
        client.force_login(people[name])
        assert client.get(reverse("predictions:registry")).status_code == 403, name


def test_only_study_creators_register(client, people, tiny_model_path):
    client.force_login(people["statistician"])
    page = client.get(reverse("predictions:registry")).content.decode()
    assert "Register a model version" not in page
    response = client.post(reverse("predictions:registry"), {"name": "tiny", "weights_path": str(tiny_model_path)})
    assert response.status_code == 403 and not ModelVersion.objects.filter(name="tiny").exists()


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


def test_the_registry_lists_the_runs_the_user_may_see_and_not_others(client, people, version, sent):
    mine = arm_run(people["study"])
    theirs = arm_run(people["other_study"])
    started = runs.start_run(version, exam_ids=list(people["study"].reading_sets.get().exam_ids()),
                             description="Model study / Set 1", actor=people["coordinator"])
    stray = runs.start_run(version, exam_ids=list(people["other_study"].reading_sets.get().exam_ids()),
                           description="started by the other coordinator", actor=people["other"])

    def listed(user):
        client.force_login(user)
        page = client.get(reverse("predictions:registry")).content.decode()
        return {run.pk for run in ModelRun.objects.all() if f'data-run="{run.pk}"' in page}

    assert listed(people["coordinator"]) == {mine.pk, started.pk}
    assert listed(people["statistician"]) == {mine.pk}  # shown by an arm of their study
    assert listed(people["other"]) == {theirs.pk, stray.pk}
    client.force_login(people["coordinator"])
    page = client.get(reverse("predictions:registry")).content.decode()
    assert reverse("predictions:run", args=[started.pk]) in page and "Model study / Set 1" in page
    assert "started by the other coordinator" not in page


def test_a_coordinator_of_another_study_cannot_see_a_run_they_did_not_start(client, people):
    run = arm_run(people["study"])  # started by the coordinator of "Model study", shown by its arm only
    client.force_login(people["other"])
    assert client.get(reverse("predictions:run", args=[run.pk])).status_code == 403
    assert client.get(reverse("predictions:run-progress", args=[run.pk])).status_code == 403
    assert client.post(reverse("predictions:run-cancel", args=[run.pk])).status_code == 403
    assert client.post(reverse("predictions:run-resume", args=[run.pk])).status_code == 403
    for name in ("reader", "nobody"):
        client.force_login(people[name])
        assert client.get(reverse("predictions:run", args=[run.pk])).status_code == 403


def test_a_statistician_follows_the_arms_run_but_does_not_change_it(client, people, version, sent):
    run = runs.start_run(version, exam_ids=people["study"].reading_sets.get().exam_ids(), actor=people["coordinator"])
    Arm.objects.filter(study=people["study"], kind=Arm.Kind.AI_AIDED).update(model_run=run)
    client.force_login(people["statistician"])
    page = client.get(reverse("predictions:run", args=[run.pk])).content.decode()
    assert "Cancel the run" not in page
    assert client.get(reverse("predictions:run-progress", args=[run.pk])).json()["pending"] == 3
    assert client.post(reverse("predictions:run-cancel", args=[run.pk])).status_code == 403
    assert ModelRun.objects.get(pk=run.pk).status == ModelRun.Status.PENDING


def test_start_run_page_is_for_the_studys_coordinator(client, people):
    url = reverse("studies:start-run", args=[people["study"].pk])
    client.force_login(people["coordinator"])
    page = client.get(url)
    assert page.status_code == 200 and "All reading sets of the study" in page.content.decode()
    for name in ("statistician", "reader", "other", "nobody"):
        client.force_login(people[name])
        assert client.get(url).status_code == 403, name
        assert client.post(url, {}).status_code == 403, name


def test_start_run_page_dashboard_progress_and_cancel(client, people, version, reading_set, sent, django_capture_on_commit_callbacks):
    client.force_login(people["coordinator"])
    attached = arm_run(people["study"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("studies:start-run", args=[people["study"].pk]), {
            "model_version": version.pk, "reading_set": reading_set.pk, "tta": 1, "seed": 0, "batch_size": 2,
            "heatmaps": "on", "heatmap_mode": "exact",
        })
    run = ModelRun.objects.get(model_version=version)
    assert response.status_code == 302 and response["Location"] == reverse("predictions:run", args=[run.pk])
    assert len(sent) == 2 and run.created_by == people["coordinator"] and run.description == "Model study / Set 1"
    assert arm_run(people["study"]) == attached, "starting a run never attaches it to an arm"
    dashboard = client.get(reverse("predictions:run", args=[run.pk])).content.decode()
    assert reverse("predictions:run-progress", args=[run.pk]) in dashboard and "Cancel the run" in dashboard
    assert "Model study / Set 1" in dashboard
    progress = client.get(reverse("predictions:run-progress", args=[run.pk])).json()
    assert (progress["total"], progress["pending"], progress["finished"]) == (3, 3, False)
    assert client.post(reverse("predictions:run-cancel", args=[run.pk])).status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled" and runs.progress(run).cancelled == 3


def test_start_run_page_over_every_reading_set(client, people, version, sent):
    client.force_login(people["coordinator"])
    response = client.post(reverse("studies:start-run", args=[people["study"].pk]), {
        "model_version": version.pk, "reading_set": "", "tta": 1, "seed": 0, "batch_size": 1, "heatmap_mode": "exact",
    })
    run = ModelRun.objects.get(model_version=version)
    assert response.status_code == 302 and run.items.count() == 3 and run.description == "Model study / all reading sets"


def test_start_run_page_refuses_a_reading_set_of_another_study(client, people, version):
    client.force_login(people["coordinator"])
    foreign = people["other_study"].reading_sets.get()
    response = client.post(reverse("studies:start-run", args=[people["study"].pk]), {
        "model_version": version.pk, "reading_set": foreign.pk, "tta": 1, "seed": 0, "batch_size": 1, "heatmap_mode": "exact",
    })
    assert response.status_code == 200 and "reading_set" in response.context["form"].errors
    assert not ModelRun.objects.filter(model_version=version).exists()


def test_api_reads_follow_the_policy(client, people, version, sent, django_capture_on_commit_callbacks):
    mine = arm_run(people["study"])
    client.force_login(people["statistician"])
    assert client.get("/api/model-versions/").status_code == 200
    listed = {row["id"] for row in _rows(client.get("/api/model-runs/").json())}
    assert listed == {mine.pk}
    assert client.get(f"/api/model-runs/{arm_run(people['other_study']).pk}/").status_code == 404
    assert client.get(f"/api/model-runs/{mine.pk}/predictions/").status_code == 200
    assert client.post("/api/model-runs/", {"model_version": version.pk, "exams": [1]},
                       content_type="application/json").status_code == 403
    assert client.post("/api/model-versions/", {"name": "x", "weights_file": "/x"},
                       content_type="application/json").status_code == 403
    client.force_login(people["reader"])
    assert client.get("/api/model-runs/").status_code == 403
    assert client.get("/api/model-versions/").status_code == 403


def _rows(body):
    return body["results"] if isinstance(body, dict) and "results" in body else body


def test_api_starts_a_run_over_exams_and_cancels_it(client, people, version, reading_set, sent, django_capture_on_commit_callbacks):
    exam_ids = reading_set.exam_ids()
    client.force_login(people["coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/model-runs/", {"model_version": version.pk, "exams": exam_ids, "description": "by API",
                                                    "options": {"tta": 2}}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["options"]["tta"] == 2 and body["progress"]["total"] == 3 and len(sent) == 3
    assert body["description"] == "by API" and "exams" not in body and "study" not in body
    run_id = body["id"]
    assert client.get(f"/api/model-runs/{run_id}/progress/").json()["pending"] == 3
    client.force_login(people["other"])  # coordinator of another study: the run is not theirs to see
    assert client.get(f"/api/model-runs/{run_id}/").status_code == 404
    assert client.post(f"/api/model-runs/{run_id}/cancel/").status_code == 404
    client.force_login(people["coordinator"])
    assert client.post(f"/api/model-runs/{run_id}/cancel/").json()["status"] == "cancelled"
    assert client.post(f"/api/model-runs/{run_id}/cancel/").status_code == 409


def test_api_needs_exams_and_refuses_bad_ones(client, people, version, reading_set):
    client.force_login(people["coordinator"])
    response = client.post("/api/model-runs/", {"model_version": version.pk}, content_type="application/json")
    assert response.status_code == 400 and "exams" in response.content.decode()
    response = client.post("/api/model-runs/", {"model_version": version.pk, "exams": [999999]}, content_type="application/json")
    assert response.status_code == 400 and "999999" in response.content.decode()
    response = client.post("/api/model-runs/", {"model_version": version.pk, "exams": reading_set.exam_ids(),
                                                "options": {"tta": 99}}, content_type="application/json")
    assert response.status_code == 400 and "tta" in response.content.decode()
    assert not ModelRun.objects.filter(model_version=version).exists()


def test_api_registers_by_path(client, people, tiny_model_path):
    client.force_login(people["coordinator"])
    response = client.post("/api/model-versions/", {"name": "via api", "weights_file": str(tiny_model_path)},
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["variant"] == "image_only"


def test_commands_register_and_run(people, tiny_model_path, reading_set, sent, django_capture_on_commit_callbacks):
    call_command("register_model", "tiny", str(tiny_model_path))
    call_command("register_model", "tiny", str(tiny_model_path), "--if-absent")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_model", "--model", "tiny", "--reading-set", str(reading_set.pk), "--batch-size", "3")
    run = ModelRun.objects.get(model_version__name="tiny")
    assert run.items.count() == 3 and len(sent) == 1 and run.description == "Model study / Set 1"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_model", "--model", "tiny", "--study", str(people["study"].pk))
    assert ModelRun.objects.filter(model_version__name="tiny", description="Model study / all reading sets").count() == 1
    with pytest.raises(CommandError, match="no model version"):
        call_command("run_model", "--model", "absent", "--reading-set", str(reading_set.pk))
    with pytest.raises(CommandError, match="no study"):
        call_command("run_model", "--model", "tiny", "--study", "999999")
    sent.clear()
    with pytest.raises(CommandError, match="not finished"):
        call_command("run_model", "--resume", str(run.pk), "--wait", "--timeout", "0")
    assert len(sent) == 1  # --resume sent the unfinished exams again
