"""The reader's day, end to end against the real Django server: log in, worklist, the four
views, exact window/level read back from the canvas, window drag, synchronised zoom, autosaved
draft surviving a reload, submit, next exam."""
import re

import numpy as np
import pytest

from readerstudy.exams import phantoms
from readerstudy.exams.derivatives import decode_pixel_planes
from readerstudy.exams.ingest import ingest_paths
from readerstudy.exams.models import Exam, Image
from readerstudy.studies.models import Reading
from tests.studies.factories import make_study

from .canvas import canvas_pixels
from .harness.synthetic import display_level

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWS = ("R-CC", "L-CC", "R-MLO", "L-MLO")


@pytest.fixture
def study_setup(settings, tmp_path, make_user):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEID_SECRET = "browser-test-secret"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    files = phantoms.generate(3, tmp_path / "phantoms", size=(512, 416), seed=11)
    report = ingest_paths([f for f in files if f.suffix == ".dcm"])
    assert Exam.objects.count() == 3, report
    coordinator = make_user("coord", "coordinator")
    reader = make_user("rita", "reader")
    make_study(coordinator, exams=list(Exam.objects.order_by("pk")), readers=[reader], sequence_design="unaided_first")
    return reader.assignments.get(arm__kind="unaided")


def stored_pixels(image: Image) -> np.ndarray:
    with image.pixels_file.open("rb") as f:
        return decode_pixel_planes(f.read(), image.rows, image.columns)


def log_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "pw-rita")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def cell(page, view):
    return page.evaluate("v => { const c = window.readerViewer.workstation.viewports().find(c => c.view === v); return {rect: c.rect, map: c.map}; }", view)


def check_window_formula(page, image: Image, samples=200, seed=0):
    """Random device pixels of the view: each shows round(255 * VOI(stored value)) exactly."""
    c = cell(page, image.view)
    window = page.evaluate("v => window.readerViewer.workstation.windowOf(v)", image.view)
    header = page.evaluate("id => fetch(`/exams/images/${id}/header`).then(r => r.json())", image.pk)
    pixels = stored_pixels(image)
    canvas = canvas_pixels(page).astype(float)
    rng = np.random.default_rng(seed)
    rect, m = c["rect"], c["map"]
    checked = 0
    for _ in range(samples * 4):
        X = int(rng.integers(rect["x"], rect["x"] + rect["w"]))
        Y = int(rng.integers(rect["y"], rect["y"] + rect["h"]))
        col, row = m["ax"] * (X + 0.5) + m["bx"], m["ay"] * (Y + 0.5) + m["by"]
        if not (0 <= col < image.columns and 0 <= row < image.rows):
            continue
        level = display_level(pixels[int(row), int(col)], header, window["center"], window["width"])
        assert abs(canvas[Y, X] - level) <= 0.501, (image.view, X, Y, canvas[Y, X], level)
        checked += 1
        if checked == samples:
            break
    assert checked == samples, "too few image pixels on screen"
    return window


def test_a_reading_from_worklist_to_next_exam(live_server, page, page_errors, study_setup):
    assignment = study_setup
    order = assignment.case_order
    log_in(page, live_server.url)

    page.goto(f"{live_server.url}/read/")
    row = page.locator(f"tr[data-assignment='{assignment.pk}']")
    assert "0 of 3" in row.inner_text()
    row.locator("a.continue").click()
    page.wait_for_selector(f"#viewer[data-exam='{order[0]}'][data-state=full]", timeout=30000)
    assert page.url.endswith(f"/read/{assignment.pk}/exams/{order[0]}/")

    # The four views render, each in its place of the hanging protocol.
    canvas = canvas_pixels(page)
    for view in VIEWS:
        r = cell(page, view)["rect"]
        assert canvas[r["y"]:r["y"] + r["h"], r["x"]:r["x"] + r["w"]].max() > 100, f"{view} is blank"
    assert page.locator(".viewer-label[data-view]").count() == 4

    # A known pixel under a known window, at 1:1 where each device pixel is one stored pixel.
    image = Image.objects.get(exam_id=order[0], view="L-CC")
    page.keyboard.press("x")
    before = check_window_formula(page, image)

    # Right-drag: 40 px right widens, 25 px down raises the centre, by one step per CSS pixel.
    step = page.evaluate("() => window.readerViewer.workstation.windows.get('L-CC').dragStep()")
    box = page.locator("#viewer canvas").bounding_box()
    r = cell(page, "L-CC")["rect"]
    x, y = box["x"] + r["x"] + r["w"] / 2, box["y"] + r["y"] + r["h"] / 2
    page.mouse.move(x, y)
    page.mouse.down(button="right")
    page.mouse.move(x + 40, y + 25, steps=5)
    page.mouse.up(button="right")
    after = check_window_formula(page, image, seed=1)
    assert (after["width"], after["center"]) == (before["width"] + 40 * step, before["center"] + 25 * step)

    # Wheel zoom on one view zooms them all alike.
    page.keyboard.press("f")
    fit = page.evaluate("() => window.readerViewer.workstation.zoomOf('R-CC')")
    page.mouse.wheel(0, -300)
    zooms = page.evaluate("() => ['R-CC','L-CC','R-MLO','L-MLO'].map(v => window.readerViewer.workstation.zoomOf(v))")
    assert zooms[1] > 1.3 * fit and len(set(zooms)) == 1, zooms

    # The form: typed, slid and clicked values autosave as a draft.
    page.fill("input[name=right_probability]", "35")
    page.locator("input[name=left_probability_range]").fill("70")
    page.click(".breast-right .birads-option:has(input[value='3'])")
    page.click(".breast-left .birads-option:has(input[value='4'])")
    page.wait_for_selector("#reading-status[data-kind=saved]")
    draft = Reading.objects.get(assignment=assignment, exam_id=order[0])
    assert (draft.status, draft.right_probability, draft.left_probability, draft.right_birads, draft.left_birads) == ("draft", 35, 70, 3, 4)

    # A reload mid-reading restores the draft.
    page.reload()
    page.wait_for_selector("#viewer[data-state=full]")
    assert page.input_value("input[name=right_probability]") == "35"
    assert page.input_value("input[name=left_probability]") == "70"
    assert page.is_checked(".breast-left input[value='4']") and page.is_checked(".breast-right input[value='3']")

    # Submit locks the form; "n" opens the next exam in the stored order, in place.
    page.click("#submit-reading")
    page.wait_for_selector("#reading-status[data-kind=done]")
    assert page.is_disabled("input[name=right_probability]")
    reading = Reading.objects.get(assignment=assignment, exam_id=order[0])
    assert reading.status == "submitted" and reading.client_key and reading.duration_ms is not None
    assert reading.submitted_at >= reading.first_shown_at
    assert "1 of 3 submitted" in page.inner_text("#assignment-progress")
    page.wait_for_selector(f"#viewer[data-prefetched='{order[1]}']", timeout=30000)
    page.keyboard.press("n")
    page.wait_for_selector(f"#viewer[data-exam='{order[1]}'][data-state=full]", timeout=30000)
    page.wait_for_url(f"**/read/{assignment.pk}/exams/{order[1]}/")
    assert page.input_value("input[name=right_probability]") == ""
    assert not page.is_disabled("input[name=right_probability]")
    check_window_formula(page, Image.objects.get(exam_id=order[1], view="R-MLO"), samples=50)
    assert Reading.objects.get(assignment=assignment, exam_id=order[1]).first_shown_at is not None
    assert page_errors == []


def test_unsaved_changes_survive_a_crash(live_server, page, page_errors, study_setup):
    """A change the server never received (network down) is restored from the browser and saved."""
    assignment = study_setup
    exam_id = assignment.case_order[0]
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/read/{assignment.pk}/exams/{exam_id}/")
    page.wait_for_selector("#viewer[data-state=full]", timeout=30000)
    page.route("**/draft", lambda route: route.abort())
    page.fill("input[name=left_probability]", "42")
    page.wait_for_selector("#reading-status[data-kind=error]")
    assert Reading.objects.get(assignment=assignment, exam_id=exam_id).left_probability is None
    page.unroute("**/draft")
    page.reload()
    page.wait_for_selector("#reading-status[data-kind=saved]", timeout=10000)
    assert page.input_value("input[name=left_probability]") == "42"
    assert Reading.objects.get(assignment=assignment, exam_id=exam_id).left_probability == 42
    assert [e for e in page_errors if "draft" not in e] == []


def test_a_submit_whose_answer_is_lost_is_retried_without_a_second_reading(live_server, page, page_errors, study_setup):
    """The server stores the submission but the answer never reaches the browser: the form retries
    with the same idempotency key and gets the stored reading back."""
    from readerstudy.audit.models import AuditEvent
    from readerstudy.studies.models import ReadingRevision

    assignment = study_setup
    exam_id = assignment.case_order[0]
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/read/{assignment.pk}/exams/{exam_id}/")
    page.wait_for_selector("#viewer[data-state=full]", timeout=30000)
    for field, value in (("left_probability", 12), ("right_probability", 3), ("left_birads", 2), ("right_birads", 1)):
        page.evaluate("([f, v]) => window.readerViewer.form.set(f, v)", [field, value])
    keys = []

    def lose_first_answer(route):
        keys.append(route.request.post_data_json["client_key"])
        response = route.fetch()  # the server does store it
        if len(keys) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route("**/submit", lose_first_answer)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#reading-status[data-kind=done]", timeout=15000)
    assert len(keys) == 2 and keys[0] == keys[1]
    reading = Reading.objects.get(assignment=assignment, exam_id=exam_id)
    assert reading.status == "submitted" and reading.client_key == keys[0] and reading.left_probability == 12
    assert ReadingRevision.objects.filter(reading=reading).count() == 1
    assert AuditEvent.objects.filter(action="reading.submitted").count() == 1
    assert [e for e in page_errors if "submit" not in e] == []
