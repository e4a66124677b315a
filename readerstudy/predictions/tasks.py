"""The Celery task that runs the classifier on a few exams of a run, on the gpu queue.

Delivery is at least once (acks_late, rejected back to the queue when the worker dies), so the
task is written to be repeated safely:
- an exam whose item is already done, failed or cancelled is skipped;
- the prediction is written with get_or_create on the unique (run, exam) pair, in the same
  transaction that marks the item done, so a repeated or concurrent delivery cannot add a second
  prediction;
- heatmap files have one deterministic name per (run, exam, view) and are replaced atomically.

Errors: a transient error (the database or the file store going away, the broker dropping) makes
Celery retry the whole task with exponential backoff; exams finished before it are skipped on the
retry. An exam that cannot be read (corrupt image) or that the model rejects fails alone, with its
reason on its item; the other exams go on. When the retries are used up, the remaining exams
fail with the last error. An exam on which a worker died MAX_ATTEMPTS times (say, killed for
memory each time) is failed instead of being tried forever.
"""
from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from readerstudy.predictions.models import ModelRun, ModelRunItem, Prediction

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError, ConnectionError, TimeoutError)
MAX_RETRIES = 6
MAX_ATTEMPTS = 5
ERROR_LIMIT = 2000


class PredictExamsTask(Task):
    def on_retry(self, exc, task_id, args, kwargs, einfo):
        """Put the exams back to pending: a running item met again later then means a lost worker."""
        run_id, exam_ids = _arguments(args, kwargs)
        logger.warning("run %s: retrying exams %s after %s", run_id, exam_ids, describe(exc))
        try:
            ModelRunItem.objects.filter(run_id=run_id, exam_id__in=exam_ids, state=ModelRunItem.State.RUNNING).update(
                state=ModelRunItem.State.PENDING, error=f"retrying after {describe(exc)}"[:ERROR_LIMIT]
            )
        except DatabaseError:
            logger.warning("run %s: database unavailable; exams %s stay running until the retry", run_id, exam_ids)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries exhausted or an unexpected error: fail this task's unfinished exams with the reason."""
        run_id, exam_ids = _arguments(args, kwargs)
        if run_id is None:
            return
        if isinstance(exc, TRANSIENT_ERRORS):
            reason = f"gave up after {self.request.retries} retries: {describe(exc)}"
        else:
            reason = f"the task failed: {describe(exc)}"
        try:
            for exam_id in exam_ids:
                fail_item(run_id, exam_id, reason)
            finish_if_complete(run_id)
        except DatabaseError:
            logger.exception("run %s: could not record the failure of exams %s", run_id, exam_ids)


@shared_task(
    bind=True,
    base=PredictExamsTask,
    name="readerstudy.predictions.predict_exams",
    queue=settings.CELERY_GPU_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    max_retries=MAX_RETRIES,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    ignore_result=True,
)
def predict_exams(self, run_id: int, exam_ids: list[int]) -> dict:
    """Predict `exam_ids` for run `run_id`; returns what happened to each exam."""
    from readerstudy.predictions import inference

    run = ModelRun.objects.select_related("model_version").filter(pk=run_id).first()
    if run is None or run.status == ModelRun.Status.CANCELLED:
        return {"skipped": list(exam_ids)}
    mark_run_started(run)
    claimed = [exam_id for exam_id in exam_ids if claim_item(run.pk, exam_id, self.request.id)]
    outcome = {"done": [], "failed": [], "skipped": [e for e in exam_ids if e not in claimed]}
    if not claimed:
        finish_if_complete(run.pk)
        return outcome
    results = inference.predict_exams(run.model_version, claimed, run.options)
    for exam_id in claimed:
        result = results[exam_id]
        if isinstance(result, inference.ExamFailure):
            fail_item(run.pk, exam_id, result.reason)
            outcome["failed"].append(exam_id)
        elif store_prediction(run, exam_id, result):
            outcome["done"].append(exam_id)
        else:
            outcome["skipped"].append(exam_id)
    finish_if_complete(run.pk)
    return outcome


def mark_run_started(run: ModelRun) -> None:
    if run.status == ModelRun.Status.PENDING:
        ModelRun.objects.filter(pk=run.pk, status=ModelRun.Status.PENDING).update(
            status=ModelRun.Status.RUNNING, started_at=timezone.now()
        )


def claim_item(run_id: int, exam_id: int, task_id: str | None) -> bool:
    """Mark an unfinished item running and count the attempt; False when it needs no work.

    A running item is claimed again on purpose: it means the worker that had it died (the message
    came back) or the broker redelivered it, and the work must be redone.
    """
    with transaction.atomic():
        item = ModelRunItem.objects.select_for_update().filter(run_id=run_id, exam_id=exam_id).first()
        if item is None or item.state not in ModelRunItem.UNFINISHED:
            return False
        if item.state == ModelRunItem.State.RUNNING and item.attempts >= MAX_ATTEMPTS:
            _set_failed(item, f"abandoned after {item.attempts} attempts: the worker was lost while predicting it (out of memory?)")
            return False
        item.state = ModelRunItem.State.RUNNING
        item.attempts = F("attempts") + 1
        item.task_id = task_id or item.task_id
        item.save(update_fields=["state", "attempts", "task_id", "updated_at"])
    return True


def store_prediction(run: ModelRun, exam_id: int, result) -> bool:
    """Write the prediction and mark the item done, in one transaction; False if the item was cancelled meanwhile."""
    from readerstudy.predictions import heatmaps

    stored_heatmaps = heatmaps.store(run, exam_id, result.heatmaps) if result.heatmaps else {}
    with transaction.atomic():
        item = ModelRunItem.objects.select_for_update().get(run_id=run.pk, exam_id=exam_id)
        if item.state == ModelRunItem.State.CANCELLED:
            return False
        Prediction.objects.get_or_create(
            run_id=run.pk, exam_id=exam_id, defaults={**result.probabilities, "heatmaps": stored_heatmaps}
        )
        item.state = ModelRunItem.State.DONE
        item.error = ""
        item.finished_at = timezone.now()
        item.save(update_fields=["state", "error", "finished_at", "updated_at"])
    return True


def fail_item(run_id: int, exam_id: int, reason: str) -> None:
    with transaction.atomic():
        item = ModelRunItem.objects.select_for_update().filter(run_id=run_id, exam_id=exam_id).first()
        if item is not None and item.state in ModelRunItem.UNFINISHED:
            _set_failed(item, reason)


def _set_failed(item: ModelRunItem, reason: str) -> None:
    item.state = ModelRunItem.State.FAILED
    item.error = reason[:ERROR_LIMIT]
    item.finished_at = timezone.now()
    item.save(update_fields=["state", "error", "finished_at", "updated_at"])


def finish_if_complete(run_id: int) -> None:
    """Close the run once no item is pending or running: done, or failed when any exam failed.

    Called after every task's own commit, so the task that finishes last sees every other
    task's outcome and closes the run.
    """
    if ModelRunItem.objects.filter(run_id=run_id, state__in=ModelRunItem.UNFINISHED).exists():
        return
    any_failed = ModelRunItem.objects.filter(run_id=run_id, state=ModelRunItem.State.FAILED).exists()
    ModelRun.objects.filter(pk=run_id, status__in=[ModelRun.Status.PENDING, ModelRun.Status.RUNNING]).update(
        status=ModelRun.Status.FAILED if any_failed else ModelRun.Status.DONE, finished_at=timezone.now()
    )


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _arguments(args, kwargs) -> tuple[int | None, list[int]]:
    values = list(args or ())
    run_id = kwargs.get("run_id", values[0] if values else None)
    exam_ids = kwargs.get("exam_ids", values[1] if len(values) > 1 else [])
    return run_id, list(exam_ids or [])
