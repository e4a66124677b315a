"""AI overlays in the real reading page: drawn over the views in the AI-aided arm (toggle, opacity,
per-breast probability), absent in the unaided arm.

Two readers of a counterbalanced study read the same exam in their first session: "una" in the
unaided arm, "aida" in the AI-aided arm, whose attached model run has a prediction with a heatmap
that is hot in one known block of L-CC.
"""
import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from readerstudy.exams import phantoms
from readerstudy.exams.ingest import ingest_paths
from readerstudy.exams.models import Exam
from readerstudy.predictions import heatmaps, inference
from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction
from readerstudy.studies import lifecycle
from readerstudy.studies.models import Arm, Assignment, Membership
from tests.studies.factories import attach_run, make_account, make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZE = (320, 256)
HOT = (slice(100, 160), slice(40, 100))  # rows, columns of the stored L-CC image


@pytest.fixture
def reading(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    phantoms.generate(1, tmp_path / "phantoms", size=SIZE, seed=11)
    report = ingest_paths([tmp_path / "phantoms"])
    assert report.imported == 4, report.as_dict()
    exam = Exam.objects.get()
    coordinator = make_account("coord", "coordinator")
    readers = [make_account("reader-1"), make_account("reader-2")]
    # Counterbalanced: the two readers of the first block are randomised into opposite sequence
    # groups, so in session 1 one reads unaided and the other AI-aided.
    study = make_study(coordinator, name="Overlay study", exams=[exam], readers=readers, status="draft")
    version = ModelVersion.objects.create(name="demo", variant="image_only", weights_file="/w", sha256="0" * 64,
                                          demonstration=True)
    run = ModelRun.objects.create(model_version=version, status="done", created_by=coordinator,
                                  options={"heatmaps": True, "heatmap_mode": "exact"})
    maps = {}
    for image in exam.images.all():
        values = np.zeros((image.rows, image.columns), dtype=np.float32)
        if image.view == "L-CC":
            values[HOT] = 1.0
        maps[image.view] = inference.ViewHeatmaps(benign=values * 0.5, malignant=values)
    Prediction.objects.create(run=run, exam=exam, left_benign=0.2, right_benign=0.1, left_malignant=0.73,
                              right_malignant=0.04, heatmaps=heatmaps.store(run, exam.pk, maps))
    attach_run(study, coordinator, run=run)
    lifecycle.open_study(study, coordinator)
    first_sessions = Assignment.objects.filter(arm__study=study, session=1).select_related("arm")
    by_kind = {a.arm.kind: a for a in first_sessions}
    assert set(Membership.objects.filter(study=study, role="reader").values_list("sequence_group", flat=True)) == {
        "unaided_first", "aided_first"}
    return {"exam": exam, "assignments": {"una": by_kind[Arm.Kind.UNAIDED], "aida": by_kind[Arm.Kind.AI_AIDED]}}


def open_viewer(page, live_server, reading, name):
    client = Client()
    client.force_login(reading["assignments"][name].reader)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    assignment = reading["assignments"][name]
    page.goto(live_server.url + reverse("reader:viewer", args=[assignment.pk, reading["exam"].pk]))
    page.wait_for_selector("#viewer[data-state=full]", timeout=30000)
    return assignment


def overlay_endpoint_status(page, assignment, exam):
    """What the overlay endpoint answers this reader, fetched from inside their page."""
    url = reverse("reader:overlay", args=[assignment.pk, exam.pk])
    return page.evaluate("async (url) => (await fetch(url, {credentials: 'same-origin'})).status", url)


def overlay_pixel(page, view, col, row):
    """RGBA of the overlay canvas over stored pixel (col, row) of a view, after a synchronous render."""
    return page.evaluate(
        """([view, col, row]) => {
            const ws = window.readerViewer.workstation;
            ws.renderNow();
            const p = ws.imageToCanvas(view, col, row);
            const canvas = document.querySelector("#viewer .ai-overlay-canvas");
            return Array.from(canvas.getContext("2d").getImageData(Math.floor(p.X), Math.floor(p.Y), 1, 1).data);
        }""",
        [view, col, row],
    )


def check_overlay_drawn(page):
    page.wait_for_function("() => document.querySelector('#viewer .ai-overlay-canvas')?.dataset.drawn > 0", timeout=15000)
    panel = page.locator(".ai-overlay-panel")
    assert "demonstration model" in panel.inner_text()
    assert panel.locator('[data-side="left"] strong').inner_text() == "73 %"
    assert panel.locator('[data-side="right"] strong').inner_text() == "4 %"
    hot_col, hot_row = (HOT[1].start + HOT[1].stop) // 2, (HOT[0].start + HOT[0].stop) // 2
    r, g, b, a = overlay_pixel(page, "L-CC", hot_col, hot_row)
    assert r > 200 and g < 80 and 100 < a < 160, (r, g, b, a)  # red at the default opacity of 0.5
    assert overlay_pixel(page, "L-CC", 5, 5)[3] == 0  # cold where the model saw nothing
    page.locator(".ai-opacity").fill("100")
    assert overlay_pixel(page, "L-CC", hot_col, hot_row)[3] > 240
    page.locator(".ai-toggle").uncheck()
    assert page.locator("#viewer").get_attribute("data-ai-overlay") == "hidden"
    assert overlay_pixel(page, "L-CC", hot_col, hot_row)[3] == 0


def test_the_reading_page_shows_overlays_only_in_the_ai_arm(page, page_errors, live_server, reading):
    assignment = open_viewer(page, live_server, reading, "aida")
    assert overlay_endpoint_status(page, assignment, reading["exam"]) == 200
    check_overlay_drawn(page)

    assignment = open_viewer(page, live_server, reading, "una")
    assert overlay_endpoint_status(page, assignment, reading["exam"]) == 404
    context = page.evaluate("() => JSON.parse(document.getElementById('viewer-config').textContent)")
    assert context["ai_overlay"] is None
    assert page.locator(".ai-overlay-panel").count() == 0
    assert page.locator("#viewer .ai-overlay-canvas").count() == 0
    assert page.locator("#viewer").get_attribute("data-ai-overlay") is None
    assert [e for e in page_errors if "404" not in e] == []
