"""A stand-alone HTTP server for the viewer: the repository's static files, the ingest pixel
endpoints (same URLs and formats as readerstudy.exams) over synthetic exams, and an in-memory
stand-in for the reading API. Used by the harness tests and usable by hand:

    python -m tests.browser.harness.server --port 8765   # then open /harness/exams/1
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .synthetic import SyntheticExam, phantom_exam, ramp_exam

REPO = Path(__file__).resolve().parents[3]
PAGE = (Path(__file__).parent / "viewer.html").read_text()
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".png": "image/png"}


class Harness:
    def __init__(self, exams: list[SyntheticExam]):
        self.exams = {e.id: e for e in exams}
        self.order = [e.id for e in exams]
        self.images = {i.id: i for e in exams for i in e.images}
        self.readings: dict[int, dict] = {}
        self.requests: list[str] = []
        # When set to an unset Event, pixel requests wait for it (to observe the preview stage).
        self.hold_pixels: threading.Event | None = None

    def exam_spec(self, exam: SyntheticExam) -> dict:
        return {
            "id": exam.id,
            "label": exam.label,
            "position": self.order.index(exam.id) + 1,
            "images": [{"id": i.id, "view": i.view, "header": f"/exams/images/{i.id}/header",
                        "preview": f"/exams/images/{i.id}/preview", "pixels": f"/exams/images/{i.id}/pixels"}
                       for i in exam.images],
        }

    def context(self, exam_id: int) -> dict:
        exam = self.exams[exam_id]
        position = self.order.index(exam_id)
        following = self.exams[self.order[position + 1]] if position + 1 < len(self.order) else None
        reading = self.readings.setdefault(exam_id, {
            "status": "draft", "left_probability": None, "right_probability": None,
            "left_birads": None, "right_birads": None, "updated_at": "2026-01-01T00:00:00Z"})
        done = sum(r["status"] == "submitted" for r in self.readings.values())
        return {
            "assignment": {"id": 1, "done": done, "total": len(self.order)},
            "exam": self.exam_spec(exam),
            "reading": reading,
            "urls": {"page": f"/harness/exams/{exam_id}", "draft": f"/harness/api/{exam_id}/draft",
                     "submit": f"/harness/api/{exam_id}/submit", "worklist": "/harness/done"},
            "next": None if following is None else {
                "exam": self.exam_spec(following), "context": f"/harness/api/{following.id}/context",
                "page": f"/harness/exams/{following.id}"},
            "ai_overlay": None,
        }


def make_handler(harness: Harness):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, payload, status=200):
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self):
            harness.requests.append(self.path)
            path = self.path.split("?")[0]
            if m := re.fullmatch(r"/exams/images/(\d+)/(header|pixels|preview)", path):
                image = harness.images.get(int(m[1]))
                if image is None:
                    return self._send(404, b"no such image", "text/plain")
                if m[2] == "header":
                    return self._json(image.header)
                if m[2] == "preview":
                    return self._send(200, image.preview, "image/png")
                if harness.hold_pixels is not None:
                    harness.hold_pixels.wait(30)
                return self._send(200, image.gzip_pixels, "application/octet-stream", {"Content-Encoding": "gzip"})
            if m := re.fullmatch(r"/harness/exams/(\d+)", path):
                context = json.dumps(harness.context(int(m[1]))).replace("</", "<\\/")
                return self._send(200, PAGE.replace("__CONTEXT__", context).encode(), "text/html; charset=utf-8")
            if m := re.fullmatch(r"/harness/api/(\d+)/context", path):
                return self._json(harness.context(int(m[1])))
            if path.startswith("/static/"):
                file = (REPO / path.lstrip("/")).resolve()
                if REPO / "static" in file.parents and file.is_file():
                    return self._send(200, file.read_bytes(), CONTENT_TYPES.get(file.suffix, "application/octet-stream"))
            return self._send(404, b"not found", "text/plain")

        def _body(self):
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

        def do_PUT(self):
            m = re.fullmatch(r"/harness/api/(\d+)/draft", self.path)
            if not m:
                return self._send(404, b"not found", "text/plain")
            reading = harness.readings[int(m[1])]
            if reading["status"] == "submitted":
                return self._json({"detail": "This reading is submitted and locked."}, 409)
            reading.update(self._body())
            return self._json(reading)

        def do_POST(self):
            m = re.fullmatch(r"/harness/api/(\d+)/submit", self.path)
            if not m:
                return self._send(404, b"not found", "text/plain")
            body = self._body()
            reading = harness.readings[int(m[1])]
            body.pop("client_key", None)
            reading.update(body, status="submitted")
            done = sum(r["status"] == "submitted" for r in harness.readings.values())
            return self._json({**reading, "progress": {"done": done, "total": len(harness.order)}})

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A page that navigates away drops its downloads (a prefetch, say): not an error.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class HarnessServer:
    """Serves a Harness on 127.0.0.1 in a background thread."""

    def __init__(self, harness: Harness, port: int = 0):
        self.harness = harness
        self.httpd = _Server(("127.0.0.1", port), make_handler(harness))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--columns", type=int, default=832)
    args = parser.parse_args()
    exams = [phantom_exam(i, args.rows, args.columns, seed=i, first_image_id=i * 10) for i in range(1, 4)]
    exams.append(ramp_exam(4, first_image_id=40))
    with HarnessServer(Harness(exams), args.port) as server:
        print(f"serving {server.url}/harness/exams/1", flush=True)
        server.thread.join()


if __name__ == "__main__":
    main()
