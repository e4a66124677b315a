"""The coordinator's run dashboard follows a run live (polling its progress endpoint) and shows the
final state when the run finishes."""
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from readerstudy.exams.models import Exam
from readerstudy.predictions import tasks
from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion
from tests.studies.factories import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def coordinator(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_account("coord", "coordinator")


@pytest.fixture
def run(coordinator):
    """A run over three exams, started by the coordinator (who may therefore follow and cancel it)."""
    version = ModelVersion.objects.create(name="m", variant="image_only", weights_file="/w", sha256="0" * 64)
    run = ModelRun.objects.create(model_version=version, description="Dashboard study / Set", created_by=coordinator)
    for position in range(3):
        exam = Exam.objects.create(label=f"DASH-{position}", source=Exam.Source.DICOM)
        ModelRunItem.objects.create(run=run, exam=exam)
    return run


def finish(run, item, state, error=""):
    ModelRunItem.objects.filter(pk=item.pk).update(state=state, error=error, finished_at=timezone.now())
    tasks.finish_if_complete(run.pk)


def test_progress_updates_live_and_the_final_state_shows(page, page_errors, live_server, run, coordinator):
    client = Client()
    client.force_login(coordinator)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page.goto(live_server.url + reverse("predictions:run", args=[run.pk]))
    assert page.locator('[data-field="pending"]').inner_text() == "3"
    assert page.get_by_role("button", name="Cancel the run").count() == 1

    ModelRun.objects.filter(pk=run.pk).update(status=ModelRun.Status.RUNNING, started_at=timezone.now())
    first, second, third = run.items.order_by("pk")
    finish(run, first, ModelRunItem.State.DONE)
    page.wait_for_function("() => document.querySelector('[data-field=done]').textContent === '1'", timeout=10000)
    assert page.locator('[data-field="pending"]').inner_text() == "2"
    assert page.locator("#run-bar").get_attribute("value") == "1"
    assert page.locator('[data-field="exams_per_minute"]').inner_text() != "–"

    finish(run, second, ModelRunItem.State.DONE)
    with page.expect_navigation(timeout=10000):  # a finished run reloads the page once
        finish(run, third, ModelRunItem.State.FAILED, "L-MLO: the stored pixel data cannot be decompressed")
    assert page.locator('[data-field="status"]').inner_text() == "Finished with failures"
    assert "cannot be decompressed" in page.locator("#run-failures").inner_text()
    assert page.get_by_role("button", name="Cancel the run").count() == 0
    assert page_errors == []
