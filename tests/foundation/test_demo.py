"""`make demo`'s steps on a fresh var/: migrate, setup_demo twice, serve_demo; every demo account logs in."""
import http.cookiejar
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
    assert "created reader" in first.stdout
    second = subprocess.run(manage + ["setup_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    assert "exists  reader" in second.stdout and "Demo ready." in second.stdout

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
        for username in ("reader", "reader2", "coordinator", "statistician"):
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
