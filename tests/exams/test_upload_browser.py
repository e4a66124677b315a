"""The upload page in Chromium: many files at once, the progress indicator, the per-file list."""
import pytest

from readerstudy.exams.models import Image
from tests.browser.conftest import browser_context_args, browser_type_launch_args, page_errors  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_many_files_shows_progress_and_results(page, page_errors, live_server, make_user,  # noqa: F811
                                                       media_root, phantom_dir, tmp_path):
    make_user("coord", "coordinator")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "coord")
    page.fill("input[name=password]", "pw-coord")
    page.click("button[type=submit], input[type=submit]")
    page.goto(f"{live_server.url}/exams/upload/")
    junk = tmp_path / "notes.txt"
    junk.write_text("not an image")
    files = sorted(str(path) for path in phantom_dir.glob("*0001_*.dcm")) + [str(junk)]
    page.set_input_files("#files", files)
    seen_progress = page.evaluate("""() => new Promise((resolve) => {
        const bar = document.getElementById('upload-progress');
        const observer = new MutationObserver(() => { if (!bar.hidden) { observer.disconnect(); resolve(true); } });
        observer.observe(bar, {attributes: true});
        document.querySelector('#upload-form button[type=submit]').click();
    })""")
    assert seen_progress
    page.wait_for_selector("table.results")
    assert "4 file(s) imported into 1 exam(s), 1 rejected." in page.inner_text("#results")
    rows = page.locator("table.results tbody tr")
    assert rows.count() == 5
    assert "not_dicom_or_png" in page.inner_text("table.results tr.rejected")
    assert page.inner_text("#upload-status") == "Done."
    assert Image.objects.count() == 4
    assert page_errors == []
