"""Faults with real worker processes and a real Redis: a killed worker, a restarted broker, a corrupt exam.

See tests/predictions/services.py for how a worker process shares the test database.
"""
import os
import shutil
import signal
import time

import pytest
import redis
from django.db.models import Count

from readerstudy.predictions import registry, runs
from readerstudy.predictions.models import ModelRun, ModelRunItem, Prediction
from tests.predictions.builders import make_exam
from tests.predictions.services import RedisServer, publishing_to, shared_database, worker_env
from tests.services import celery_worker, redis_url, require_redis, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_DB = 11  # this module's database on the shared Redis
VISIBILITY_TIMEOUT = 4  # seconds before Redis hands a dead worker's message to another worker
RUN_TIMEOUT = 240


@pytest.fixture
def shared(tmp_path, media_root):
    """A function giving a worker's environment for a broker, with this test's database and media shared."""
    with shared_database(tmp_path) as database_url:
        def env(broker):
            return worker_env(database_url, broker, media_root, tmp_path, VISIBILITY_TIMEOUT)
        yield env


@pytest.fixture
def shared_redis():
    url = redis_url(db=REDIS_DB)
    require_redis(url)
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def start_run(tiny_model_path, n_exams, corrupt=()):
    exams = [make_exam(i, corrupt_view="L-MLO" if i in corrupt else None) for i in range(n_exams)]
    version = registry.register_weights(tiny_model_path, name="tiny")
    return runs.start_run(version, exam_ids=[e.pk for e in exams], options={"heatmaps": False}), exams


def counts(run):
    return dict(run.items.values_list("state").annotate(n=Count("pk")))


def finished(run):
    run.refresh_from_db()
    return run.is_finished


def log_on_failure(tmp_path):
    for log in sorted(tmp_path.glob("*.log")):
        print(f"==== {log.name}\n{log.read_text(errors='replace')[-6000:]}")


def assert_one_prediction_per_exam(run, exams):
    run.refresh_from_db()
    assert run.status == ModelRun.Status.DONE, counts(run)
    predicted = list(Prediction.objects.filter(run=run).values_list("exam_id", flat=True))
    assert sorted(predicted) == sorted(e.pk for e in exams)
    assert set(run.items.values_list("state", flat=True)) == {ModelRunItem.State.DONE}


def test_killed_worker_mid_run_then_a_new_worker_completes_it(tmp_path, shared, shared_redis, tiny_model_path):
    with publishing_to(shared_redis):
        run, exams = start_run(tiny_model_path, 5)
    try:
        with celery_worker(shared(shared_redis), queues="gpu", log_path=tmp_path / "worker1.log") as first:
            wait_for(lambda: run.items.filter(state="done").exists() and run.items.filter(state="running").exists(),
                     timeout=RUN_TIMEOUT, interval=0.05, message="the first worker to be in the middle of the run")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        # The exam the worker was predicting when it died stays running: nobody will finish it but a new worker.
        interrupted = list(run.items.filter(state="running").values_list("exam_id", flat=True))
        assert len(interrupted) == 1, counts(run)
        assert not finished(run)
        # The dead worker's message comes back once its visibility timeout has passed.
        time.sleep(VISIBILITY_TIMEOUT + 1)
        with celery_worker(shared(shared_redis), queues="gpu", log_path=tmp_path / "worker2.log"):
            wait_for(lambda: finished(run), timeout=RUN_TIMEOUT, message="the second worker to finish the run")
        assert_one_prediction_per_exam(run, exams)
        assert run.items.get(exam_id=interrupted[0]).attempts >= 2, "the interrupted exam must have been redone"
    except BaseException:
        log_on_failure(tmp_path)
        raise


def test_redis_restart_mid_run_and_the_run_completes(tmp_path, shared, tiny_model_path):
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message + " (REQUIRE_SERVICES=1)")
        pytest.skip(message)
    broker = RedisServer(tmp_path)
    broker.start()
    try:
        with publishing_to(broker.url):
            run, exams = start_run(tiny_model_path, 5)
        with celery_worker(shared(broker.url), queues="gpu", log_path=tmp_path / "worker.log") as worker:
            wait_for(lambda: run.items.filter(state="done").exists(), timeout=RUN_TIMEOUT, interval=0.05,
                     message="the first exam to finish")
            broker.stop()
            assert not finished(run), "the restart must happen in the middle of the run"
            time.sleep(2)
            broker.start()
            wait_for(lambda: finished(run), timeout=RUN_TIMEOUT, message="the run to finish after the restart")
            assert worker.poll() is None, "the worker must survive the broker restart"
        assert_one_prediction_per_exam(run, exams)
    except BaseException:
        log_on_failure(tmp_path)
        raise
    finally:
        broker.stop()


def test_a_corrupt_exam_fails_with_its_reason_and_the_others_complete(tmp_path, shared, shared_redis, tiny_model_path):
    with publishing_to(shared_redis):
        run, exams = start_run(tiny_model_path, 4, corrupt={2})
    try:
        with celery_worker(shared(shared_redis), queues="gpu", log_path=tmp_path / "worker.log"):
            wait_for(lambda: finished(run), timeout=RUN_TIMEOUT, message="the run to finish")
    except BaseException:
        log_on_failure(tmp_path)
        raise
    run.refresh_from_db()
    assert run.status == ModelRun.Status.FAILED
    bad = run.items.get(exam=exams[2])
    assert bad.state == ModelRunItem.State.FAILED
    assert "L-MLO" in bad.error and "cannot be decompressed" in bad.error
    good = [e.pk for i, e in enumerate(exams) if i != 2]
    assert sorted(Prediction.objects.filter(run=run).values_list("exam_id", flat=True)) == sorted(good)
    assert runs.progress(run).done == 3 and runs.progress(run).failed == 1
