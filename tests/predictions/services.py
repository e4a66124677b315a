"""What the fault tests share with real worker processes: the database, the media folder, a broker.

The database. A worker is another process, so it must see the rows the test writes, and the test
must see the rows the worker writes:
- PostgreSQL (DATABASE_URL set): pytest-django's test database is a real database on the server;
  with `django_db(transaction=True)` every write is committed at once, so the worker simply gets
  the test database's URL.
- SQLite (the default): pytest-django keeps the test database in memory, where no other process
  can reach it. `shared_database` copies it (schema and the rows the migrations made) into a file
  with SQLite's online backup, points this process's default connection at that file for the
  test, and gives the worker the same file; WAL mode and the busy timeout from settings let both
  write. Afterwards the in-memory connection is put back untouched, so pytest-django flushes and
  reuses it as usual and later tests never see the file.

The broker. This process publishes to the test's Redis by switching the Celery app's broker URL
for the test (its connection pools are reset both ways).
"""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import kombu.pools
from django.db import connections

from tests.services import ROOT


@contextmanager
def shared_database(directory: Path):
    """Yield the DATABASE_URL under which a worker process sees this test's database."""
    connection = connections["default"]
    if connection.vendor == "postgresql":
        yield postgres_url(connection.settings_dict)
        return
    if connection.vendor != "sqlite":
        raise RuntimeError(f"no way to share a {connection.vendor} test database with a worker process")
    path = directory / "shared.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    memory_settings = connections.settings["default"]
    memory_connection = connections["default"]
    connections.settings["default"] = {**memory_settings, "NAME": str(path)}
    file_connection = connections.create_connection("default")
    connections["default"] = file_connection
    try:
        yield f"sqlite:///{path}"
    finally:
        file_connection.close()
        connections["default"] = memory_connection
        connections.settings["default"] = memory_settings


def postgres_url(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgresql://{credentials}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


@contextmanager
def publishing_to(broker_url: str):
    """Make this process's Celery app send tasks to `broker_url` for the duration."""
    from readerstudy.celery import app

    previous, previous_env = app.conf.broker_url, os.environ.get("CELERY_BROKER_URL")
    _switch_broker(app, broker_url)
    try:
        yield
    finally:
        _switch_broker(app, previous)
        if previous_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_env


def _switch_broker(app, url: str | None) -> None:
    # kombu keeps process-wide connection and producer pools keyed by broker URL; reset them all,
    # or a later test would be handed a pool closed here.
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = url
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (CI sets it).
    if url is None:
        os.environ.pop("CELERY_BROKER_URL", None)
    else:
        os.environ["CELERY_BROKER_URL"] = url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private redis-server (never the shared one) whose queue survives a restart (append-only file)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"],
            stdout=open(self.directory / "redis.log", "ab"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start on port {self.port}: {(self.directory / 'redis.log').read_text()}")

    def stop(self) -> None:
        """Shut down as an operator would (SIGTERM: Redis flushes its append-only file and exits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def worker_env(database_url: str, broker_url: str, media_root: Path, var_dir: Path, visibility_timeout: int) -> dict:
    return {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
        "MEDIA_ROOT": str(media_root),
        "VAR_DIR": str(var_dir),
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
