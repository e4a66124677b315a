"""The viewer's JavaScript against synthetic exams on a stand-alone server (no Django): exact
window/level, VOI LUT, inversion, hanging protocol, synchronised zoom, preview-first loading."""
import threading

import numpy as np
import pytest

from .canvas import canvas_pixels, displayed_region, image_to_canvas
from .harness.server import Harness, HarnessServer
from .harness.synthetic import display_level, phantom_exam, ramp_exam

pytestmark = pytest.mark.browser

LUT_DATA = [int(round(4095 * (i / 5999) ** 0.6)) for i in range(6000)]
EXAMS = {
    "linear": ramp_exam(1, 10),
    "exact": ramp_exam(2, 20, voi_lut_function="LINEAR_EXACT"),
    "sigmoid": ramp_exam(3, 30, voi_lut_function="SIGMOID"),
    # MONOCHROME1 with a modality rescale and a VOI LUT Sequence after the two window presets.
    "mono1": ramp_exam(4, 40, photometric="MONOCHROME1", invert=True, rescale_slope=2.0, rescale_intercept=-1000.0,
                       windows=[{"center": 3000.0, "width": 4000.0, "explanation": "A"},
                                {"center": 1000.0, "width": 2000.0, "explanation": "B"}],
                       voi_lut={"first_mapped": -500, "bits": 12, "data": LUT_DATA}),
    "phantom": phantom_exam(5, 800, 640, seed=5, first_image_id=50),
    "phantom2": phantom_exam(6, 800, 640, seed=6, first_image_id=60),
    "broken": ramp_exam(7, 70),
}
# The header of one image promises a row more than its pixel data hold.
EXAMS["broken"].images[3].header["rows"] += 1


@pytest.fixture(scope="module")
def harness():
    instance = Harness(list(EXAMS.values()))
    with HarnessServer(instance) as server:
        instance.url = server.url
        yield instance


def open_exam(page, harness, name, state="full"):
    page.goto(f"{harness.url}/harness/exams/{EXAMS[name].id}")
    page.wait_for_selector(f"#viewer[data-state={state}]", timeout=20000)


def window_of(page, view):
    return page.evaluate("v => window.readerViewer.workstation.windowOf(v)", view)


def check_views(page, exam, **grey_args):
    canvas = canvas_pixels(page)
    for image in exam.images:
        region, shown = displayed_region(page, image.view, image.pixels)
        w = window_of(page, image.view)
        level = display_level(shown, image.header, w["center"], w["width"], **grey_args)
        actual = canvas[region].astype(np.float64)
        assert actual.shape == level.shape
        # round(level), where a level on .5 (to float32 precision) may go either way.
        error = np.abs(actual - level)
        assert error.max() <= 0.5 + 1e-3, f"{image.view}: {(error > 0.501).sum()} pixels off, worst by {error.max():.3f}"


@pytest.mark.parametrize("name", ["linear", "exact", "sigmoid"])
def test_window_function_is_exact_on_stored_values(page, page_errors, harness, name):
    open_exam(page, harness, name)
    page.keyboard.press("x")  # 1:1: each canvas pixel shows one stored pixel
    check_views(page, EXAMS[name])
    page.keyboard.press("w")  # the second window preset
    assert window_of(page, "L-CC")["center"] == 2600.0
    check_views(page, EXAMS[name])
    assert page_errors == []


def test_monochrome1_rescale_voi_lut_and_manual_invert(page, page_errors, harness):
    exam = EXAMS["mono1"]
    open_exam(page, harness, "mono1")
    page.keyboard.press("x")
    check_views(page, exam)  # first window, rescaled, MONOCHROME1 inverted
    page.keyboard.press("W")  # previous preset wraps round to the image's value range
    assert window_of(page, "R-MLO")["label"] == "Image range"
    image = exam.images[2]
    expected_center = (int(image.pixels.min()) + int(image.pixels.max())) / 2 * 2.0 - 1000.0
    assert window_of(page, "R-MLO")["center"] == expected_center
    check_views(page, exam)
    page.keyboard.press("W")  # then the VOI LUT Sequence
    assert window_of(page, "R-MLO")["label"] == "VOI LUT"
    check_views(page, exam, use_lut=True)
    page.keyboard.press("i")
    check_views(page, exam, use_lut=True, manual_invert=True)
    assert page_errors == []


def test_dragging_the_window_follows_the_formula(page, page_errors, harness):
    exam = EXAMS["linear"]
    open_exam(page, harness, "linear")
    page.keyboard.press("x")
    before = window_of(page, "R-CC")
    step = page.evaluate("() => window.readerViewer.workstation.windows.get('R-CC').dragStep()")
    box = page.locator("#viewer canvas").bounding_box()
    x, y = box["x"] + 200, box["y"] + 200
    page.mouse.move(x, y)
    page.mouse.down(button="right")
    page.mouse.move(x + 30, y - 20, steps=3)  # right: wider; up: lower centre
    page.mouse.up(button="right")
    after = window_of(page, "R-CC")
    assert after["width"] == before["width"] + 30 * step
    assert after["center"] == before["center"] - 20 * step
    assert after["label"] == "Manual"
    check_views(page, exam)
    assert page_errors == []


def test_hanging_protocol_puts_chest_walls_back_to_back(page, page_errors, harness):
    open_exam(page, harness, "phantom")
    canvas = canvas_pixels(page).astype(int)
    for view in ("R-CC", "L-CC", "R-MLO", "L-MLO"):
        rect = page.evaluate("v => window.readerViewer.workstation.viewportRect(v)", view)
        mid = rect["y"] + rect["h"] // 2
        inner = rect["x"] + rect["w"] - 3 if view.startswith("R") else rect["x"] + 2
        outer = rect["x"] + 2 if view.startswith("R") else rect["x"] + rect["w"] - 3
        # The breast hangs against the centre line: tissue there, background at the outer edge.
        assert canvas[mid, inner] > 120 and canvas[mid, outer] < 30, (view, canvas[mid, inner], canvas[mid, outer])
    views = page.evaluate("() => window.readerViewer.workstation.viewportRect('R-CC')")
    right = page.evaluate("() => window.readerViewer.workstation.viewportRect('L-MLO')")
    assert views["x"] == 0 and views["y"] == 0 and right["x"] > 0 and right["y"] > 0
    assert page_errors == []


def test_layouts(page, page_errors, harness):
    open_exam(page, harness, "phantom")
    def shown():
        return page.evaluate("() => window.readerViewer.workstation.viewports().map(c => c.view)")

    page.keyboard.press("2")
    assert shown() == ["R-CC", "L-CC"]
    page.keyboard.press("3")
    assert shown() == ["R-MLO", "L-MLO"]
    page.keyboard.press("4")
    assert shown() == ["R-CC"]
    page.keyboard.press("4")
    assert shown() == ["L-CC"]
    page.keyboard.press("1")
    assert shown() == ["R-CC", "L-CC", "R-MLO", "L-MLO"]
    page.wait_for_function("() => document.querySelectorAll('.viewer-label').length === 4")
    page.keyboard.press("?")
    assert page.locator("#viewer-help").is_visible()
    assert "Magnifier" in page.locator("#viewer-help").inner_text()
    page.keyboard.press("Escape")
    assert page.locator("#viewer-help").is_hidden()
    assert page_errors == []


def test_zoom_and_pan_are_synchronised_and_mirrored(page, page_errors, harness):
    open_exam(page, harness, "phantom")
    r_cc = page.evaluate("() => window.readerViewer.workstation.viewportRect('R-CC')")
    box = page.locator("#viewer canvas").bounding_box()
    page.mouse.move(box["x"] + r_cc["x"] + r_cc["w"] * 0.7, box["y"] + r_cc["h"] * 0.4)
    page.mouse.wheel(0, -400)
    page.mouse.down()
    page.mouse.move(box["x"] + r_cc["x"] + r_cc["w"] * 0.5, box["y"] + r_cc["h"] * 0.5, steps=4)
    page.mouse.up()
    scales = page.evaluate("() => ['R-CC','L-CC','R-MLO','L-MLO'].map(v => window.readerViewer.workstation.zoomOf(v))")
    assert scales[0] > 1.5 * min(r_cc["w"] / 640, r_cc["h"] / 800) and len(set(scales)) == 1, scales
    # The same stored pixel (distance from the chest wall, row) sits at mirrored places.
    l_cc = page.evaluate("() => window.readerViewer.workstation.viewportRect('L-CC')")
    for col, row in [(10, 100), (300, 420)]:
        xr, yr = image_to_canvas(page, "R-CC", col, row)
        xl, yl = image_to_canvas(page, "L-CC", col, row)
        assert yr == pytest.approx(yl)
        assert (r_cc["x"] + r_cc["w"]) - xr == pytest.approx(xl - l_cc["x"])
    page.keyboard.press("f")
    fit = page.evaluate("() => ['R-CC','L-CC','R-MLO','L-MLO'].map(v => window.readerViewer.workstation.zoomOf(v))")
    cells = [page.evaluate("v => window.readerViewer.workstation.viewportRect(v)", v) for v in ("R-CC", "L-CC", "R-MLO", "L-MLO")]
    # One scale for every view: the largest at which all of them fit.
    assert fit == [pytest.approx(min(min(c["w"] / 640, c["h"] / 800) for c in cells))] * 4
    assert page_errors == []


def test_loupe_shows_stored_pixels(page, page_errors, harness):
    exam = EXAMS["linear"]
    open_exam(page, harness, "linear")
    image = exam.images[1]  # L-CC, not flipped
    x, y = page.evaluate("() => { const p = window.readerViewer.workstation.imageToClient('L-CC', 160, 200); return [p.x, p.y]; }")
    page.keyboard.press("m")
    page.mouse.move(x, y)
    page.wait_for_selector(".viewer-loupe")
    canvas = canvas_pixels(page)
    # The loupe magnifies about the pointer at no less than 1:1: the pixel under it is the
    # stored pixel under the pointer, windowed exactly.
    X, Y = page.evaluate("([x, y]) => { const b = document.querySelector('#viewer canvas').getBoundingClientRect(); return [x - b.left, y - b.top]; }", [x, y])
    w = window_of(page, "L-CC")
    col, row = page.evaluate(
        "([X, Y]) => { const ws = window.readerViewer.workstation; const c = ws.viewports().find(c => c.view === 'L-CC'); return [c.map.ax * X + c.map.bx, c.map.ay * Y + c.map.by]; }", [X, Y])
    level = display_level(image.pixels[int(row), int(col)], image.header, w["center"], w["width"])
    assert abs(float(canvas[int(Y), int(X)]) - level) <= 0.501
    assert page_errors == []


def test_preview_is_painted_before_the_full_resolution_data(page, page_errors, harness):
    harness.hold_pixels = threading.Event()
    try:
        open_exam(page, harness, "phantom2", state="previews")
        canvas = canvas_pixels(page)
        rect = page.evaluate("() => window.readerViewer.workstation.viewportRect('L-MLO')")
        assert canvas[rect["y"]:rect["y"] + rect["h"], rect["x"]:rect["x"] + rect["w"]].max() > 100
        assert page.get_attribute("#viewer", "data-state") == "previews"
    finally:
        harness.hold_pixels.set()
        harness.hold_pixels = None
    page.wait_for_selector("#viewer[data-state=full]")
    marks = page.evaluate("() => performance.getEntriesByType('mark').map(m => m.name)")
    assert marks.index("viewer:previews:6") < marks.index("viewer:full:6")
    assert page_errors == []


def test_pixel_data_that_do_not_match_the_header_are_reported(page, page_errors, harness):
    open_exam(page, harness, "broken", state="error")
    message = page.get_attribute("#viewer", "data-error")
    assert message.endswith("/exams/images/73/pixels: 256000 bytes, expected 256640 (320 x 401 x 16 bits)"), message
    # The other three views still show their full-resolution data.
    assert page.evaluate("() => [...window.readerViewer.workstation.images.values()].filter(i => i.full).length") == 3
    assert any("expected 256640" in e for e in page_errors)
