"""Real services for tests: a Celery worker subprocess and a reachable Redis.

Tests that need Redis skip when it does not answer, unless REQUIRE_SERVICES=1 (set by .ci/run,
which starts Redis and PostgreSQL), where the skip becomes a failure.
"""
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]


def redis_url(db: int = 14) -> str:
    base = os.environ.get("TEST_REDIS_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not base.startswith("redis://"):
        base = "redis://127.0.0.1:6379/0"
    parsed = urlparse(base)
    return f"redis://{parsed.hostname}:{parsed.port or 6379}/{db}"


def require_redis(url: str) -> None:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return
    except OSError:
        pass
    reason = f"Redis does not answer at {url}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@contextmanager
def celery_worker(env_overrides: dict, queues: str = "default,gpu", log_path: Path | None = None, extra_args=()):
    """Start `celery worker` in a subprocess; yield the Popen; always stop it."""
    env = {**os.environ, **env_overrides}
    cmd = [sys.executable, "-m", "celery", "-A", "readerstudy.celery", "worker", "-Q", queues, "-P", "solo",
           "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO", *extra_args]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log_path:
            log.close()


def wait_for(predicate, timeout: float, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
