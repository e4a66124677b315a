"""`make demo`'s steps on a fresh var/: migrate, setup_demo twice, serve_demo; every demo account logs in.

The demo study is created through the study services: open, counterbalanced, protocol version 1,
four readers in two sequence groups of two, a statistician, and the AI-aided arm's completed run.
"""
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.services import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.services]
DEMO_USERS = ("reader", "reader2", "reader3", "reader4", "coordinator", "statistician")

# Run by `manage.py shell` against the demo database: the demo study's state as JSON.
DEMO_STATE = """
import json
from readerstudy.audit.models import AuditEvent
from readerstudy.demo.seed import DEMO_STUDY
from readerstudy.studies.models import Arm, Membership, Study
study = Study.objects.get(name=DEMO_STUDY)
run = study.arms.get(kind=Arm.Kind.AI_AIDED).model_run
exams = set(study.reading_sets.values_list("members__exam_id", flat=True))
print(json.dumps({
    "status": study.status, "design": study.sequence_design, "protocol_version": study.protocol_version,
    "washout_days": study.washout_days, "seed": study.seed,
    "members": sorted([m.user.username, m.role, m.sequence_group] for m in Membership.objects.filter(study=study)),
    "assignments": sorted([a.reader.username, a.arm.kind, a.session] for a in study.arms.get(kind=Arm.Kind.UNAIDED).assignments.all())
                   + sorted([a.reader.username, a.arm.kind, a.session] for a in study.arms.get(kind=Arm.Kind.AI_AIDED).assignments.all()),
    "exams": len(exams),
    "run_status": run.status if run else None, "run_options": run.options if run else None,
    "predicted": sorted(set(run.predictions.values_list("exam_id", flat=True)) & exams) == sorted(exams) if run else False,
    "predictions": run.predictions.count() if run else 0,
    "audit_events": AuditEvent.objects.count(),
}))
"""


def demo_state(manage, env) -> dict:
    done = subprocess.run(manage + ["shell", "-c", DEMO_STATE], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def login(base: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"})
    return opener.open(request).read().decode()


def test_demo_sets_up_twice_and_serves_logins(tmp_path):
    env = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "DEMO_PASSWORD": "demo-pass-1234"}
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MEDIA_ROOT"):
        env.pop(key, None)
    manage = [sys.executable, "manage.py"]
    subprocess.run(manage + ["migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    first = subprocess.run(manage + ["setup_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    for username in DEMO_USERS:
        assert re.search(rf"created +\w+ +{username} +password", first.stdout), first.stdout[:2000]
    assert "Opened the study" in first.stdout, first.stdout[-3000:]
    for where in ("/read/", "/studies/", "/analysis/"):
        assert where in first.stdout
    state = demo_state(manage, env)

    assert state["status"] == "open" and state["design"] == "counterbalanced", state
    assert state["protocol_version"] == 1 and state["washout_days"] == 0 and state["seed"] == 20261127
    members = {username: (role, group) for username, role, group in state["members"]}
    assert members["coordinator"] == ("coordinator", "") and members["statistician"] == ("statistician", "")
    readers = {username: group for username, (role, group) in members.items() if role == "reader"}
    assert sorted(readers) == ["reader", "reader2", "reader3", "reader4"]
    assert sorted(readers.values()) == ["aided_first", "aided_first", "unaided_first", "unaided_first"]
    assert len(members) == 6
    # Each reader: session 1 in the first modality of their group, session 2 in the other.
    sessions = {(username, kind): session for username, kind, session in state["assignments"]}
    assert len(sessions) == 8 == len(state["assignments"])
    for username, group in readers.items():
        first_kind = "unaided" if group == "unaided_first" else "ai_aided"
        assert sessions[(username, first_kind)] == 1, (username, group, sessions)
    assert state["exams"] == 40
    assert state["run_status"] == "done" and state["predicted"] and state["predictions"] == 40, state
    assert not state["run_options"]["heatmaps"] or state["run_options"]["heatmap_mode"] == "exact"

    second = subprocess.run(manage + ["setup_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    assert "exists  reader" in second.stdout and "Demo ready" in second.stdout
    assert "Found the study" in second.stdout and "Running the demonstration model" not in second.stdout
    again = demo_state(manage, env)
    assert again == state, "the second setup_demo changed the demo database"

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen(manage + ["serve_demo", "--port", str(port), "--web-workers", "1"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        def up():
            try:
                return b"Log in" in urllib.request.urlopen(f"{base}/accounts/login/", timeout=2).read()
            except OSError:
                return False

        wait_for(up, timeout=60, message="the demo web server")
        for username in DEMO_USERS:
            home = login(base, username, "demo-pass-1234")
            assert f"Welcome, {username}" in home
        assert server.poll() is None
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "Stopped the web server and the worker." in output, output[-3000:]
    assert "celery@" in output and "ready" in output, "the Celery worker never became ready"
