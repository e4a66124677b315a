"""Browser tests: Playwright (sync API) driving Debian's Chromium with software WebGL2."""
import os
import shutil

import pytest

# pytest-django's live_server runs beside Playwright's event loop in this thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1400, "height": 900}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium. Where it is missing the browser tests skip, except in CI (CI=1 or
    REQUIRE_BROWSER=1), where a missing browser fails them rather than hiding them."""
    if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
        reason = f"{CHROMIUM} not found (apt-get install chromium)"
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT, "device_scale_factor": 1}


@pytest.fixture
def page_errors(page):
    """Uncaught errors and console errors of the page; tests assert it stays empty."""
    errors = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))

    def console(message):
        if message.type == "error" and "favicon" not in message.location.get("url", ""):
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", console)
    return errors
