"""The task's bookkeeping: idempotency, failures, cancellation, completion (inference replaced by a stub)."""
import pytest

from readerstudy.predictions import inference, runs, tasks
from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion, Prediction
from tests.predictions.builders import make_exam

pytestmark = pytest.mark.django_db

PROBABILITIES = {"left_benign": 0.1, "right_benign": 0.2, "left_malignant": 0.3, "right_malignant": 0.4}


@pytest.fixture
def calls(monkeypatch):
    """Replace the model with a stub that records which exams it was asked for."""
    seen = []

    def stub(version, exam_ids, options):
        seen.append(list(exam_ids))
        return {exam_id: inference.ExamResult(dict(PROBABILITIES)) for exam_id in exam_ids}

    monkeypatch.setattr(inference, "predict_exams", stub)
    return seen


@pytest.fixture
def run():
    exams = [make_exam(i) for i in range(3)]
    version = ModelVersion.objects.create(name="stub", variant="image_only", weights_file="/nonexistent", sha256="0" * 64)
    return runs.start_run(version, exam_ids=[e.pk for e in exams])


def exam_ids(run):
    return list(run.items.order_by("pk").values_list("exam_id", flat=True))


def test_start_run_creates_one_item_per_exam_and_dispatches_on_commit(monkeypatch, django_capture_on_commit_callbacks, settings):
    sent = []
    monkeypatch.setattr(tasks.predict_exams, "apply_async", lambda args, queue: sent.append((args, queue)) or type("R", (), {"id": "t"})())
    exams = [make_exam(i) for i in range(5)]
    version = ModelVersion.objects.create(name="stub", variant="image_only", weights_file="/x", sha256="0" * 64)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.start_run(version, exam_ids=[e.pk for e in exams], description="five phantoms", options={"batch_size": 2})
    assert run.items.count() == 5 and run.description == "five phantoms" and run.status == ModelRun.Status.PENDING
    assert [args[1] for args, _ in sent] == [[e.pk for e in exams[0:2]], [e.pk for e in exams[2:4]], [exams[4].pk]]
    assert {queue for _, queue in sent} == {settings.CELERY_GPU_QUEUE}


def test_the_task_is_routed_to_the_gpu_queue_and_acknowledged_late(settings):
    assert tasks.predict_exams.queue == settings.CELERY_GPU_QUEUE
    assert tasks.predict_exams.acks_late and tasks.predict_exams.reject_on_worker_lost
    assert OSError in tasks.predict_exams.autoretry_for


def test_a_task_writes_predictions_and_finishes_the_run(run, calls):
    outcome = tasks.predict_exams(run.pk, exam_ids(run))
    assert sorted(outcome["done"]) == sorted(exam_ids(run))
    run.refresh_from_db()
    assert run.status == ModelRun.Status.DONE and run.started_at and run.finished_at
    assert Prediction.objects.filter(run=run).count() == 3
    assert set(run.items.values_list("state", "attempts")) == {("done", 1)}


def test_a_redelivered_task_never_duplicates_a_prediction(run, calls):
    ids = exam_ids(run)
    tasks.predict_exams(run.pk, ids)
    tasks.predict_exams(run.pk, ids)  # the broker delivered it again
    assert Prediction.objects.filter(run=run).count() == 3
    assert len(calls) == 1, "the second delivery must not run the model again"


def test_an_exam_left_running_by_a_lost_worker_is_redone_once(run, calls):
    first = exam_ids(run)[0]
    ModelRunItem.objects.filter(run=run, exam_id=first).update(state="running", attempts=1)
    tasks.predict_exams(run.pk, [first])
    item = run.items.get(exam_id=first)
    assert (item.state, item.attempts) == ("done", 2)
    assert Prediction.objects.filter(run=run, exam_id=first).count() == 1


def test_an_existing_prediction_is_kept_when_the_item_is_replayed(run, calls):
    first = exam_ids(run)[0]
    Prediction.objects.create(run=run, exam_id=first, **{k: 0.5 for k in PROBABILITIES})
    tasks.predict_exams(run.pk, [first])
    assert Prediction.objects.filter(run=run, exam_id=first).count() == 1
    assert run.items.get(exam_id=first).state == "done"


def test_a_failing_exam_records_its_reason_and_the_others_complete(run, monkeypatch):
    bad = exam_ids(run)[1]

    def stub(version, ids, options):
        return {i: inference.ExamFailure("L-CC: the stored pixel data cannot be decompressed") if i == bad
                else inference.ExamResult(dict(PROBABILITIES)) for i in ids}

    monkeypatch.setattr(inference, "predict_exams", stub)
    tasks.predict_exams(run.pk, exam_ids(run))
    run.refresh_from_db()
    assert run.status == ModelRun.Status.FAILED
    failed = run.items.get(exam_id=bad)
    assert failed.state == "failed" and "cannot be decompressed" in failed.error
    assert Prediction.objects.filter(run=run).count() == 2


def test_cancelled_run_is_skipped_by_its_tasks(run, calls):
    runs.cancel_run(run)
    outcome = tasks.predict_exams(run.pk, exam_ids(run))
    assert outcome["skipped"] == exam_ids(run) and calls == []
    assert set(run.items.values_list("state", flat=True)) == {"cancelled"}
    with pytest.raises(runs.RunError, match="already cancelled"):
        runs.cancel_run(run)


def test_a_result_arriving_after_cancellation_is_discarded(run, monkeypatch):
    def cancel_meanwhile(version, ids, options):
        runs.cancel_run(ModelRun.objects.get(pk=run.pk))
        return {i: inference.ExamResult(dict(PROBABILITIES)) for i in ids}

    monkeypatch.setattr(inference, "predict_exams", cancel_meanwhile)
    tasks.predict_exams(run.pk, exam_ids(run))
    assert not Prediction.objects.filter(run=run).exists()
    assert ModelRun.objects.get(pk=run.pk).status == ModelRun.Status.CANCELLED


def test_exhausted_retries_fail_the_exams_with_the_last_error(run):
    ids = exam_ids(run)[:2]
    ModelRunItem.objects.filter(run=run, exam_id__in=ids).update(state="running")
    tasks.predict_exams.on_failure(OSError("shared storage unavailable"), "task-1", (run.pk, ids), {}, None)
    for item in run.items.filter(exam_id__in=ids):
        assert item.state == "failed" and "OSError: shared storage unavailable" in item.error


def test_retry_puts_the_exams_back_to_pending(run):
    ids = exam_ids(run)[:1]
    ModelRunItem.objects.filter(run=run, exam_id__in=ids).update(state="running")
    tasks.predict_exams.on_retry(OSError("blip"), "task-1", (run.pk, ids), {}, None)
    assert run.items.get(exam_id=ids[0]).state == "pending"


def test_an_exam_that_kills_its_worker_every_time_is_abandoned(run, calls):
    first = exam_ids(run)[0]
    ModelRunItem.objects.filter(run=run, exam_id=first).update(state="running", attempts=tasks.MAX_ATTEMPTS)
    tasks.predict_exams(run.pk, [first])
    item = run.items.get(exam_id=first)
    assert item.state == "failed" and "worker was lost" in item.error
    assert calls == []


def test_progress_counts_and_rate(run, calls):
    ids = exam_ids(run)
    tasks.predict_exams(run.pk, ids[:2])
    run.refresh_from_db()
    progress = runs.progress(run)
    assert (progress.total, progress.done, progress.pending, progress.failed) == (3, 2, 1, 0)
    assert progress.exams_per_minute and progress.exams_per_minute > 0
    assert progress.finished is False and progress.eta_seconds is not None


def test_options_are_validated():
    with pytest.raises(runs.RunError, match="tta"):
        runs.clean_options({"tta": 0})
    with pytest.raises(runs.RunError, match="unknown"):
        runs.clean_options({"colour": "red"})
    assert runs.clean_options({"tta": 10})["tta"] == 10


def test_a_run_covers_its_exams_once_in_the_given_order():
    exams = [make_exam(i) for i in range(3)]
    version = ModelVersion.objects.create(name="stub", variant="image_only", weights_file="/x", sha256="0" * 64)
    order = [exams[2].pk, exams[0].pk, exams[2].pk, exams[1].pk]
    run = runs.start_run(version, exam_ids=order)
    assert exam_ids(run) == [exams[2].pk, exams[0].pk, exams[1].pk]


def test_a_run_needs_existing_exams():
    exams = [make_exam(0)]
    version = ModelVersion.objects.create(name="stub", variant="image_only", weights_file="/x", sha256="0" * 64)
    with pytest.raises(runs.RunError, match="at least one exam"):
        runs.start_run(version, exam_ids=[])
    with pytest.raises(runs.RunError, match="no exam with id 999999"):
        runs.start_run(version, exam_ids=[exams[0].pk, 999999])
    assert not ModelRun.objects.exists()


def test_run_events_carry_no_study(run):
    from readerstudy.audit.models import AuditEvent

    runs.cancel_run(run)
    events = AuditEvent.objects.filter(object_type="modelrun", object_id=str(run.pk))
    assert set(events.values_list("action", flat=True)) == {"model_run.started", "model_run.cancelled"}
    assert set(events.values_list("study_id", flat=True)) == {None}
