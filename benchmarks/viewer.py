"""Viewer speed with full-size phantom exams, in headless Chromium with software WebGL2.

Phantom exams (readerstudy.exams.phantoms, 4096 x 3328 by default) are served by a local
server and opened in the reading page. Two servers:

- `--server django` (default): the real site under gunicorn, on a private SQLite database and
  media folder under --cache, with the phantoms imported by the ingest pipeline and a reader
  assigned to them (set up once, then reused; a fresh reader per run);
- `--server harness`: tests/browser/harness/server.py, the same data contract without Django
  (isolates the browser side).

It reports medians of:

- navigation -> all four previews painted, and -> all four full-resolution images rendered
  (performance marks the viewer sets after a read-back, i.e. with pixels in the framebuffer);
- "next exam" once the next exam was prefetched (switch mark -> full-resolution mark);
- one window/level re-render of a full-resolution view, and of all four views;
- for the record, when the last image's pixels were received (downloaded, inflated, reduced) and
  uploaded to the GPU, from navigation.

    .venv/bin/python -m benchmarks.viewer [--server django|harness] [--exams 10]

Targets (issue 4, this machine): previews <= 0.5 s, full resolution <= 2 s, prefetched next
exam <= 0.3 s, window/level re-render <= 50 ms. Derivatives are cached under --cache.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from readerstudy.exams.derivatives import pixel_planes_gzip  # noqa: E402
from readerstudy.exams.phantoms import VIEWS, make_exam  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.harness.server import Harness, HarnessServer  # noqa: E402
from tests.browser.harness.synthetic import SyntheticExam, make_header, preview_png  # noqa: E402

TARGETS_MS = {"previews": 500, "full": 2000, "switch": 300, "window_one_view": 50}
HANGING = ("R-CC", "L-CC", "R-MLO", "L-MLO")


class CachedImage:
    """One phantom view as the server sends it, read from the cache folder."""

    def __init__(self, image_id: int, view: str, folder: Path):
        self.id = image_id
        self.view = view
        self.header = json.loads((folder / f"{view}.json").read_text())
        self.gzip_pixels = (folder / f"{view}.planes.gz").read_bytes()
        self.preview = (folder / f"{view}.png").read_bytes()


def build_cache(index: int, seed: int, size: tuple[int, int], folder: Path) -> None:
    if all((folder / f"{v}.planes.gz").exists() for v in VIEWS):
        return
    folder.mkdir(parents=True, exist_ok=True)
    phantom = make_exam(index, size=size, seed=seed)
    for view, pixels in phantom.views.items():
        # Phantoms are stored in the hanging orientation already: no display flip.
        header = make_header(pixels, view, flip_horizontal=False,
                             windows=[{"center": 1600.0, "width": 2600.0, "explanation": "Phantom"},
                                      {"center": 2200.0, "width": 1400.0, "explanation": "Dense"}])
        (folder / f"{view}.planes.gz").write_bytes(pixel_planes_gzip(pixels))
        (folder / f"{view}.png").write_bytes(preview_png(pixels, header))
        (folder / f"{view}.json").write_text(json.dumps(header))


def load_exams(count: int, seed: int, size: tuple[int, int], cache: Path) -> list[SyntheticExam]:
    exams = []
    for index in range(count):
        folder = cache / f"{size[0]}x{size[1]}-s{seed}-{index:03d}"
        started = time.perf_counter()
        build_cache(index, seed, size, folder)
        images = [CachedImage(1000 + index * 10 + i, view, folder) for i, view in enumerate(HANGING)]
        exams.append(SyntheticExam(index + 1, f"PHANTOM-S{seed}-{index:04d}", images))
        print(f"exam {index + 1}/{count} ready ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return exams


class DjangoSite:
    """The real site under gunicorn on a private database and media folder (built once)."""

    def __init__(self, folder: Path, count: int, seed: int, size: tuple[int, int]):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "MEDIA_ROOT": str(folder / "media"),
            "DEID_SECRET": "viewer-benchmark",
            "DJANGO_SETTINGS_MODULE": "readerstudy.settings",
            "DEBUG": "0",
        }
        os.environ.update({k: self.env[k] for k in ("DATABASE_URL", "MEDIA_ROOT", "DEID_SECRET", "DJANGO_SETTINGS_MODULE", "DEBUG")})
        import django

        django.setup()
        self._build(count, seed, size)

    def _build(self, count, seed, size):
        from django.contrib.auth.models import User
        from django.core.management import call_command

        from benchmarks.study_setup import first_session, open_study
        from readerstudy.exams import phantoms
        from readerstudy.exams.ingest import ingest_paths
        from readerstudy.exams.models import Exam
        from readerstudy.studies.models import Study

        call_command("migrate", verbosity=0)
        if Exam.objects.count() < count:
            started = time.perf_counter()
            out = self.folder / "phantoms"
            files = phantoms.generate(count, out, size=size, seed=seed)
            print(f"phantoms written ({time.perf_counter() - started:.0f} s); importing", file=sys.stderr)
            ingest_paths([f for f in files if f.suffix == ".dcm"])
            print(f"imported {Exam.objects.count()} exams ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
        coordinator, _ = User.objects.get_or_create(username="bench-coordinator")
        study = Study.objects.filter(name="Viewer benchmark").first()
        if study is None:
            exam_ids = list(Exam.objects.order_by("pk").values_list("pk", flat=True)[:count])
            study = open_study(coordinator, name="Viewer benchmark", exam_ids=exam_ids, seed=seed)
        self.reader_name = f"bench-reader-{int(time.time())}"
        reader = User.objects.create_user(self.reader_name, password="bench-password")
        self.assignment = first_session(study, reader, coordinator)

    def __enter__(self):
        import socket
        import subprocess

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "readerstudy.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "8", "--log-level", "warning"],
            cwd=REPO, env=self.env)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)

    def exam_ids(self) -> list[int]:
        return list(self.assignment.case_order)

    def page_url(self, exam_id: int) -> str:
        return f"{self.url}/read/{self.assignment.pk}/exams/{exam_id}/"

    def log_in(self, page):
        page.goto(f"{self.url}/accounts/login/")
        page.fill("input[name=username]", self.reader_name)
        page.fill("input[name=password]", "bench-password")
        page.click("button[type=submit]")
        page.wait_for_load_state()


class HarnessSite:
    def __init__(self, count: int, seed: int, size: tuple[int, int], cache: Path):
        self.exams = load_exams(count, seed, size, cache)
        self.server = HarnessServer(Harness(self.exams))

    def __enter__(self):
        self.server.__enter__()
        self.url = self.server.url
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    def exam_ids(self) -> list[int]:
        return [e.id for e in self.exams]

    def page_url(self, exam_id: int) -> str:
        return f"{self.url}/harness/exams/{exam_id}"

    def log_in(self, page):
        pass


def marks(page) -> dict[str, float]:
    return {m["name"]: m["startTime"] for m in page.evaluate("performance.getEntriesByType('mark').map(m => ({name: m.name, startTime: m.startTime}))")}


def measure(site, screenshot: Path | None, width: int, height: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    results = {"previews": [], "last_pixels_received": [], "last_pixels_uploaded": [], "full": [], "switch": [],
               "window_one_view": [], "window_all_views": []}
    exams = site.exam_ids()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
        page = context.new_page()
        page.on("pageerror", lambda e: print(f"page error: {e}", file=sys.stderr))
        site.log_in(page)
        # Warm-up on the last exam: the scripts in the browser's cache, the server's first requests.
        page.goto(site.page_url(exams[-1]))
        page.wait_for_selector("#viewer[data-state=full]", timeout=60000)
        # Each other exam's first visit (none of its images in the browser's cache). The page
        # before is left idle first (its prefetch done) and unloaded, so that tearing it down does
        # not count against the next page.
        for exam in exams[:-1]:
            if page.evaluate("() => Boolean(window.readerViewer && window.readerViewer.context.next)"):
                page.wait_for_selector("#viewer[data-prefetched]", timeout=60000)
            page.goto("about:blank")
            page.goto(site.page_url(exam))
            page.wait_for_selector(f"#viewer[data-exam='{exam}'][data-state=full]", timeout=60000)
            m = marks(page)
            results["previews"].append(m[f"viewer:previews:{exam}"])
            results["full"].append(m[f"viewer:full:{exam}"])
            # Where the time goes: the last image's data received (downloaded and inflated) and
            # uploaded to the GPU, before the marks of the next exam's prefetch.
            full = m[f"viewer:full:{exam}"]
            results["last_pixels_received"].append(max(t for n, t in m.items() if n.startswith("viewer:received:") and t <= full))
            results["last_pixels_uploaded"].append(max(t for n, t in m.items() if n.startswith("viewer:uploaded:") and t <= full))
        # Reading through the list in place: submit, then "n" once the next exam is prefetched
        # (from the server: the HTTP cache filled above is emptied first).
        context.new_cdp_session(page).send("Network.clearBrowserCache")
        page.goto(site.page_url(exams[0]))
        for current, following in zip(exams, exams[1:], strict=False):
            page.wait_for_selector(f"#viewer[data-exam='{current}'][data-state=full][data-prefetched='{following}']", timeout=60000)
            submitted = page.evaluate("""() => {
                const f = window.readerViewer.form;
                for (const [k, v] of [["left_probability", 10], ["right_probability", 5], ["left_birads", 1], ["right_birads", 1]]) f.set(k, v);
                return f.submit();
            }""")
            if not submitted:
                raise RuntimeError(f"exam {current} could not be submitted: {page.inner_text('#reading-status')}")
            page.keyboard.press("n")
            page.wait_for_selector(f"#viewer[data-exam='{following}'][data-state=full]", timeout=60000)
            m = marks(page)
            results["switch"].append(m[f"viewer:full:{following}"] - m[f"viewer:switch:{following}"])

        page.wait_for_selector("#viewer[data-state=full]")
        for step in range(21):
            one, every = page.evaluate("""(step) => {
                const ws = window.readerViewer.workstation;
                ws.adjustWindow(step % 2 ? 4 : -4, step % 2 ? 3 : -3);
                const cell = ws.viewports()[0];
                let t = performance.now();
                ws.render(cell.rect);
                ws.renderer.finish();
                const one = performance.now() - t;
                t = performance.now();
                ws.renderNow();
                return [one, performance.now() - t];
            }""", step)
            if step:  # the first pass pays one-off costs
                results["window_one_view"].append(one)
                results["window_all_views"].append(every)
        if screenshot:
            page.evaluate("() => window.readerViewer.workstation.reset()")
            page.wait_for_timeout(300)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        browser.close()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("django", "harness"), default="django")
    parser.add_argument("--exams", type=int, default=10)
    parser.add_argument("--size", default="4096x3328", help="rows x columns of each view")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--window", default="1600x1000", help="browser viewport, CSS pixels")
    parser.add_argument("--cache", type=Path, default=REPO / "var" / "benchmarks" / "viewer")
    parser.add_argument("--screenshot", type=Path, default=REPO / "var" / "benchmarks" / "viewer.png")
    args = parser.parse_args(argv)
    if args.exams < 2:
        parser.error("at least two exams are needed to measure the switch")
    size = tuple(int(v) for v in args.size.split("x"))
    width, height = (int(v) for v in args.window.split("x"))

    if args.server == "django":
        site = DjangoSite(args.cache / "django", args.exams, args.seed, size)
    else:
        site = HarnessSite(args.exams, args.seed, size, args.cache)
    with site:
        results = measure(site, args.screenshot, width, height)

    load = os.getloadavg()
    print(f"viewer benchmark ({args.server} server): {args.exams} exams of {size[0]} x {size[1]}, window {width} x {height}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    failed = False
    for name, values in results.items():
        median = statistics.median(values)
        target = TARGETS_MS.get(name)
        verdict = "" if target is None else (" ok" if median <= target else " OVER TARGET")
        failed |= target is not None and median > target
        print(f"  {name:21s} median {median:8.1f} ms  (min {min(values):7.1f}, max {max(values):7.1f}, n={len(values)})"
              f"{'' if target is None else f'  target <= {target} ms'}{verdict}")
    if args.screenshot:
        print(f"  screenshot: {args.screenshot}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
