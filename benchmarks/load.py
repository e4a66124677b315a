"""Load test of reading submission: N simulated readers submit concurrently against gunicorn and PostgreSQL.

A throw-away PostgreSQL database is created (`createdb`), migrated and seeded directly (readers,
exams, an open study, one assignment per reader with its stored case order); gunicorn serves
the project on a free loopback port; one thread per reader logs in and reads its worklist in
order: open the exam (the first-shown time), then submit the answers with an idempotency key.
Some submits are retried with the same key, as a browser does after a lost response: some
after reading the first answer, some after dropping the connection before the answer arrives.
Every phase is bounded in time. Afterwards the database is checked: every reading a client saw
acknowledged is stored exactly once, with the answers of its first attempt, one first revision
and one audit event; nothing else was stored. The database is dropped at the end.

  .venv/bin/python benchmarks/load.py [--readers 50] [--exams 20] [--endpoint viewer|api]
      [--workers 4] [--threads 4] [--retry 0.1] [--drop 0.05] [--duration 120]

--endpoint viewer (default) posts to the reading workstation's submit endpoint with a session and
CSRF token, as the browser does; --endpoint api uses the REST API (`/api/readings/`) with tokens.
Needs PostgreSQL on 127.0.0.1:5432 with trust authentication for the user postgres (PGHOST,
PGPORT and PGUSER override). Prints p50/p95 submit latency, throughput and the integrity counts;
exits non-zero when a reading was lost or duplicated or a request failed.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = {"host": os.environ.get("PGHOST", "127.0.0.1"), "port": os.environ.get("PGPORT", "5432"), "user": os.environ.get("PGUSER", "postgres")}
DB_NAME = f"rs_load_{os.getpid()}"
DATABASE_URL = f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{DB_NAME}"
WORK = Path(tempfile.mkdtemp(prefix="load-bench-"))

sys.path.insert(0, str(ROOT))
os.environ.update(
    DATABASE_URL=DATABASE_URL, DJANGO_SETTINGS_MODULE="readerstudy.settings", DEBUG="0",
    MEDIA_ROOT=str(WORK / "media"), LOG_LEVEL="WARNING", ALLOWED_HOSTS="127.0.0.1",
)


def pg(command: str, *args: str) -> None:
    subprocess.run([command, "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], *args], check=True, timeout=60)


def setup_django():
    import django

    django.setup()


def seed(n_readers: int, n_exams: int) -> dict:
    """Readers, exams, an open study with a 0-day washout and each reader's first-session (unaided) assignment."""
    from django.contrib.auth.models import User

    from benchmarks.study_setup import first_session, open_study
    from readerstudy.exams.models import Exam

    coordinator = User.objects.create_user("load-coordinator")
    readers = User.objects.bulk_create([User(username=f"reader{i:03d}", password="!") for i in range(n_readers)])
    exams = Exam.objects.bulk_create([Exam(label=f"LOAD-{i:04d}", source=Exam.Source.DICOM) for i in range(n_exams)])
    study = open_study(coordinator, name="Load test", exam_ids=[e.pk for e in exams], seed=2026)
    plan = {}
    for reader in readers:
        assignment = first_session(study, reader, coordinator)
        plan[reader.username] = Reader(reader.username, assignment.pk, list(assignment.case_order), *credentials(reader))
    return plan


@dataclass
class Reader:
    username: str
    assignment: int
    order: list
    session_key: str
    token: str


def credentials(user) -> tuple[str, str]:
    """A logged-in session and an API token, made directly: the load is on submitting, not on
    password hashing (50 PBKDF2 logins at once would take the whole time limit on two cores)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key, Token.objects.create(user=user).key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A worker's first request imports every view (seconds); do it before the worker takes requests,
# so that no timed request pays for it.
GUNICORN_CONFIG = """
def post_worker_init(worker):
    from django.urls import get_resolver
    get_resolver().url_patterns
"""


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen:
    log = open(WORK / "gunicorn.log", "wb")
    config = WORK / "gunicorn_conf.py"
    config.write_text(GUNICORN_CONFIG)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "readerstudy.wsgi", "--config", str(config), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads), "--timeout", "120", "--graceful-timeout", "10",
         "--no-control-socket"],  # several servers may run on one machine; none needs the control socket
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see {WORK / 'gunicorn.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within 60 s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def warm_up(port: int, connections: int) -> None:
    """Load the project in every worker before timing: a worker's first request imports the views (seconds)."""
    def hit():
        client = Http(port, 120)
        for _ in range(3):
            client.request("GET", "/accounts/login/")
        client.conn.close()

    threads = [threading.Thread(target=hit) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)


class Http:
    """One keep-alive connection with a cookie jar (a browser tab, roughly)."""

    def __init__(self, port: int, timeout: float):
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def reconnect(self):
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def _headers(self, extra: dict) -> dict:
        headers = {"Host": "127.0.0.1", **extra}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def send(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> None:
        self.conn.request(method, path, body=body, headers=self._headers(headers or {}))

    def receive(self) -> tuple[int, bytes]:
        response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, data

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, bytes]:
        try:
            self.send(method, path, body, headers)
            return self.receive()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.reconnect()  # the server closed an idle keep-alive connection: send again once
            self.send(method, path, body, headers)
            return self.receive()


@dataclass
class Outcome:
    latencies: list = field(default_factory=list)  # seconds per acknowledged submit (first attempt)
    acknowledged: dict = field(default_factory=dict)  # (username, exam) -> answers
    errors: list = field(default_factory=list)
    retries: int = 0
    dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ViewerClient:
    """The reading workstation's endpoints: session login with CSRF, exam context, JSON submit."""

    def __init__(self, http_: Http, reader: "Reader"):
        self.http, self.reader = http_, reader

    def login(self):
        self.http.cookies["sessionid"] = self.reader.session_key
        status, _ = self.http.request("GET", "/read/")  # the worklist; also sets the CSRF cookie
        if status != 200:
            raise RuntimeError(f"the worklist of {self.reader.username} answered {status}")
        if "csrftoken" not in self.http.cookies:
            self.http.request("GET", "/accounts/login/")

    def open(self, assignment: int, exam: int) -> int:
        return self.http.request("GET", f"/api/viewer/assignments/{assignment}/exams/{exam}/")[0]

    def submit_request(self, assignment: int, exam: int, payload: dict):
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.http.cookies["csrftoken"]}
        return "POST", f"/api/viewer/assignments/{assignment}/exams/{exam}/submit", body, headers

    ok = (200,)


class ApiClient:
    """The REST API with token authentication."""

    def __init__(self, http_: Http, reader: "Reader"):
        self.http, self.reader = http_, reader
        self.auth = {"Authorization": f"Token {reader.token}"}

    def login(self):
        status, _ = self.http.request("GET", "/api/assignments/", headers=self.auth)
        if status != 200:
            raise RuntimeError(f"the assignments of {self.reader.username} answered {status}")

    def open(self, assignment: int, exam: int) -> int:
        body = json.dumps({"assignment": assignment, "exam": exam}).encode()
        return self.http.request("POST", "/api/readings/open/", body, {"Content-Type": "application/json", **self.auth})[0]

    def submit_request(self, assignment: int, exam: int, payload: dict):
        body = json.dumps({"assignment": assignment, "exam": exam, **payload}).encode()
        return "POST", "/api/readings/", body, {"Content-Type": "application/json", **self.auth}

    ok = (200, 201)


def read_worklist(kind, port, reader: Reader, args, outcome: Outcome, limit: dict, start: threading.Barrier):
    """One reader: open the worklist, wait for the others, then open and submit each exam in the stored order until done or `limit["at"]`."""
    username, assignment, order = reader.username, reader.assignment, reader.order
    rng = random.Random(f"{args.seed}-{username}")
    client = kind(Http(port, args.timeout), reader)
    try:
        client.login()
    except Exception as error:  # noqa: BLE001 - reported, and fails the run
        with outcome.lock:
            outcome.errors.append(f"{username}: {error}")
        start.abort()
        return
    try:
        start.wait(timeout=120)
    except threading.BrokenBarrierError:
        return
    for exam in order:
        if time.monotonic() > limit["at"]:
            return
        answers = {"left_probability": rng.randint(0, 100), "right_probability": rng.randint(0, 100),
                   "left_birads": rng.randint(0, 6), "right_birads": rng.randint(0, 6)}
        payload = {**answers, "client_key": uuid.uuid4().hex}
        try:
            if client.open(assignment, exam) != 200:
                raise RuntimeError(f"opening exam {exam} failed")
            method, path, body, headers = client.submit_request(assignment, exam, payload)
            began = time.perf_counter()
            if rng.random() < args.drop:
                # The response is lost: the request reaches the server, the client hangs up and retries.
                client.http.send(method, path, body, headers)
                client.http.reconnect()
                with outcome.lock:
                    outcome.dropped += 1
                status, data = client.http.request(method, path, body, headers)
            else:
                status, data = client.http.request(method, path, body, headers)
            elapsed = time.perf_counter() - began
            if status not in client.ok:
                raise RuntimeError(f"submit of exam {exam} answered {status}: {data[:200]!r}")
            if rng.random() < args.retry:
                again, _ = client.http.request(method, path, body, headers)
                if again not in client.ok:
                    raise RuntimeError(f"retried submit of exam {exam} answered {again}")
                with outcome.lock:
                    outcome.retries += 1
        except Exception as error:  # noqa: BLE001 - every failure is counted and fails the run
            with outcome.lock:
                outcome.errors.append(f"{username} exam {exam}: {error}")
            client.http.reconnect()
            continue
        with outcome.lock:
            outcome.latencies.append(elapsed)
            outcome.acknowledged[(username, exam)] = answers


def verify(outcome: Outcome) -> dict:
    """Compare what clients saw acknowledged with what the database holds."""
    from django.db.models import Count

    from readerstudy.audit.models import AuditEvent
    from readerstudy.studies.models import Reading, ReadingRevision

    stored = {
        (r.assignment.reader.username, r.exam_id): r
        for r in Reading.objects.filter(status="submitted").select_related("assignment__reader")
    }
    lost = [key for key in outcome.acknowledged if key not in stored]
    unexpected = [key for key in stored if key not in outcome.acknowledged]
    wrong = [key for key, answers in outcome.acknowledged.items()
             if key in stored and any(getattr(stored[key], f) != v for f, v in answers.items())]
    duplicate_rows = Reading.objects.values("assignment", "exam").annotate(n=Count("id")).filter(n__gt=1).count()
    duplicate_revisions = ReadingRevision.objects.filter(number=0).values("reading").annotate(n=Count("id")).filter(n__gt=1).count()
    events = AuditEvent.objects.filter(action="reading.submitted").count()
    return {
        "acknowledged": len(outcome.acknowledged), "stored": len(stored), "lost": len(lost),
        "duplicated": duplicate_rows + duplicate_revisions + max(0, events - len(stored)) + len(unexpected),
        "wrong_answers": len(wrong), "audit_events": events,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--exams", type=int, default=20, help="exams in each reader's worklist")
    parser.add_argument("--endpoint", choices=["viewer", "api"], default="viewer")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--retry", type=float, default=0.1, help="share of submits sent again after the answer")
    parser.add_argument("--drop", type=float, default=0.05, help="share of submits whose answer is lost, then retried")
    parser.add_argument("--duration", type=float, default=120, help="upper bound of the load phase, seconds")
    parser.add_argument("--timeout", type=float, default=30, help="socket timeout per request, seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    pg("createdb", DB_NAME)
    server = None
    try:
        setup_django()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        plan = seed(args.readers, args.exams)
        connections.close_all()
        port = free_port()
        server = start_gunicorn(port, args.workers, args.threads)
        warm_up(port, 2 * args.workers * args.threads)
        print(f"gunicorn on 127.0.0.1:{port}: {args.workers} workers x {args.threads} threads; PostgreSQL database {DB_NAME}")
        print(f"{args.readers} readers x {args.exams} exams via the {args.endpoint} endpoint; retry {args.retry:.0%}, lost answers {args.drop:.0%}")

        kind = ViewerClient if args.endpoint == "viewer" else ApiClient
        outcome = Outcome()
        start = threading.Barrier(args.readers + 1)
        limit = {"at": float("inf")}  # set when every reader has logged in
        threads = []
        for reader in plan.values():
            thread = threading.Thread(target=read_worklist, args=(kind, port, reader, args, outcome, limit, start), daemon=True)
            threads.append(thread)
            thread.start()
        try:
            start.wait(timeout=180)  # every reader has its worklist open
        except threading.BrokenBarrierError:
            print("the readers could not open their worklists:", *outcome.errors[:5], sep="\n  ")
            return 1
        began = time.monotonic()
        limit["at"] = began + args.duration
        for thread in threads:
            thread.join(timeout=max(0.0, began + args.duration + args.timeout + 5 - time.monotonic()))
        elapsed = time.monotonic() - began
        if any(thread.is_alive() for thread in threads):
            outcome.errors.append("some readers were still waiting for an answer at the time limit")

        counts = verify(outcome)
        planned = args.readers * args.exams
        print(f"\nsubmits acknowledged: {counts['acknowledged']} of {planned} planned in {elapsed:.1f} s "
              f"({counts['acknowledged'] / elapsed:.1f} readings/s); retried after an answer: {outcome.retries}, "
              f"after a lost answer: {outcome.dropped}")
        if outcome.latencies:
            ms = [1000 * s for s in outcome.latencies]
            print(f"submit latency: p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
                  f"max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms")
        print(f"stored readings: {counts['stored']}; lost: {counts['lost']}; duplicated: {counts['duplicated']}; "
              f"answers differing from the first attempt: {counts['wrong_answers']}; reading.submitted events: {counts['audit_events']}")
        print(f"request errors: {len(outcome.errors)}", *outcome.errors[:10], sep="\n  " if outcome.errors else "")
        complete = counts["acknowledged"] == planned
        if not complete:
            print("note: the time limit ended the load before every planned reading was submitted")
        failed = counts["lost"] or counts["duplicated"] or counts["wrong_answers"] or outcome.errors
        return 1 if failed else 0
    finally:
        if server is not None:
            stop(server)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up when createdb failed later
            pass
        pg("dropdb", "--if-exists", DB_NAME)


if __name__ == "__main__":
    code = main()
    if code == 0:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print(f"gunicorn's log is in {WORK}")
    sys.exit(code)
