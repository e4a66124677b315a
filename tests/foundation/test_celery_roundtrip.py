"""A real worker process consumes a real broker: the embedded SQLite broker and Redis."""
import os
import uuid
from unittest import mock

import pytest
from celery import Celery

from tests.services import celery_worker, redis_url, require_redis

pytestmark = [pytest.mark.services, pytest.mark.slow]


def round_trip(tmp_path, broker: str, backend: str, env: dict):
    # Celery reads CELERY_BROKER_URL / CELERY_RESULT_BACKEND from the environment before its
    # configuration, and CI sets them: point both at this test's broker while the client exists.
    with mock.patch.dict(os.environ, {"CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": backend}):
        _round_trip(tmp_path, broker, backend, env)


def _round_trip(tmp_path, broker: str, backend: str, env: dict):
    client = Celery("test-client", broker=broker, backend=backend)
    token = uuid.uuid4().hex
    with celery_worker(env, log_path=tmp_path / "worker.log") as worker:
        result = client.send_task("readerstudy.ping", args=[token], queue="default")
        try:
            value = result.get(timeout=60)
        except Exception:
            print((tmp_path / "worker.log").read_text())
            raise
        assert worker.poll() is None, "the worker died"
    assert value == {"pong": token}


def test_round_trip_on_embedded_broker(tmp_path):
    var = tmp_path / "var"
    broker = f"sqla+sqlite:///{var / 'broker.sqlite3'}"
    backend = f"db+sqlite:///{var / 'results.sqlite3'}"
    var.mkdir()
    env = {"VAR_DIR": str(var), "CELERY_BROKER_URL": "", "CELERY_RESULT_BACKEND": "", "DATABASE_URL": ""}
    round_trip(tmp_path, broker, backend, env)


def test_round_trip_on_redis(tmp_path):
    url = redis_url(db=13)
    require_redis(url)
    env = {"VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url}
    round_trip(tmp_path, url, url, env)
