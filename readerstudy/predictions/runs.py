"""Model runs: start one over a list of exams, follow its progress, cancel it.

A run knows nothing of studies (studies sit above this app: `studies.model_runs.start_study_run`
chooses a study's exams and describes the run; a study's AI-aided arm points at a run).

A run is a ModelRun with one ModelRunItem per exam. Its exams are sent to the workers as Celery
tasks of `batch_size` exams each on the gpu queue, once the transaction that created the run has
committed (a worker must never look for a run that is not visible yet). Items move
pending -> running -> done | failed (or cancelled); the run is finished when no item is pending or
running (see `tasks.finish_if_complete`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from readerstudy import audit
from readerstudy.exams.models import Exam
from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion

DEFAULT_OPTIONS = {"tta": 1, "seed": 0, "batch_size": 1, "heatmaps": True, "heatmap_mode": "exact", "device": "auto"}
HEATMAP_MODES = ("exact", "fast")
MAX_BATCH_SIZE = 16
MAX_TTA = 10


class RunError(ValueError):
    """A run that cannot be started or changed, with the reason."""


def clean_options(options: dict | None) -> dict:
    """Validated classifier options with defaults filled in; unknown keys are refused."""
    merged = {**DEFAULT_OPTIONS, **(options or {})}
    unknown = sorted(set(merged) - set(DEFAULT_OPTIONS))
    if unknown:
        raise RunError(f"unknown run option(s): {', '.join(unknown)}")
    for key, low, high in (("tta", 1, MAX_TTA), ("batch_size", 1, MAX_BATCH_SIZE), ("seed", 0, 2**32 - 1)):
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RunError(f"{key} must be an integer from {low} to {high}, got {value!r}")
    if not isinstance(merged["heatmaps"], bool):
        raise RunError(f"heatmaps must be true or false, got {merged['heatmaps']!r}")
    if merged["heatmap_mode"] not in HEATMAP_MODES:
        raise RunError(f"heatmap_mode must be one of {', '.join(HEATMAP_MODES)}, got {merged['heatmap_mode']!r}")
    if merged["device"] not in ("auto", "cpu") and not str(merged["device"]).startswith("cuda"):
        raise RunError(f"device must be auto, cpu, cuda or cuda:N, got {merged['device']!r}")
    return merged


def start_run(model_version: ModelVersion, *, exam_ids, description: str = "", options=None, actor=None,
              request=None) -> ModelRun:
    """Create a run over `exam_ids` (in this order; a repeated exam is kept once) and its items, and
    queue its tasks when the transaction commits."""
    options = clean_options(options)
    try:
        exam_ids = list(dict.fromkeys(int(exam_id) for exam_id in exam_ids or ()))
    except (TypeError, ValueError):
        raise RunError("exam ids must be integers") from None
    if not exam_ids:
        raise RunError("a run needs at least one exam")
    found = set(Exam.objects.filter(pk__in=exam_ids).values_list("pk", flat=True))
    missing = [exam_id for exam_id in exam_ids if exam_id not in found]
    if missing:
        raise RunError(f"no exam with id {', '.join(map(str, missing[:10]))}{' ...' if len(missing) > 10 else ''}")
    with transaction.atomic():
        run = ModelRun.objects.create(
            model_version=model_version,
            description=(description or "")[:ModelRun._meta.get_field("description").max_length],
            options=options,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        ModelRunItem.objects.bulk_create(ModelRunItem(run=run, exam_id=exam_id) for exam_id in exam_ids)
        audit.record(actor, "model_run.started", run, request=request, model_version=model_version.name,
                     exams=len(exam_ids), options=options, description=run.description)
        transaction.on_commit(lambda: dispatch(run))
    return run


def dispatch(run: ModelRun, *, only_pending: bool = False) -> int:
    """Send the run's unfinished exams to the gpu queue in batches; returns the number of tasks sent.

    Sending an exam twice is harmless: a task skips exams that are already done (see tasks.py).
    """
    from readerstudy.predictions.tasks import predict_exams

    states = [ModelRunItem.State.PENDING] if only_pending else list(ModelRunItem.UNFINISHED)
    exam_ids = list(run.items.filter(state__in=states).order_by("pk").values_list("exam_id", flat=True))
    size = run.options.get("batch_size", 1)
    sent = 0
    for start in range(0, len(exam_ids), size):
        batch = exam_ids[start:start + size]
        result = predict_exams.apply_async(args=(run.pk, batch), queue=settings.CELERY_GPU_QUEUE)
        run.items.filter(exam_id__in=batch).update(task_id=result.id)
        sent += 1
    return sent


def resume_run(run: ModelRun, *, actor=None, request=None) -> int:
    """Send the unfinished exams of a run again, e.g. after the broker lost its queue.

    Safe while the original tasks are still queued: whichever task comes second finds the exam
    done and skips it.
    """
    if run.is_finished:
        raise RunError(f"run {run.pk} is {run.get_status_display().lower()}; only an unfinished run can be resumed")
    sent = dispatch(run)
    audit.record(actor, "model_run.resumed", run, request=request, tasks=sent)
    return sent


def cancel_run(run: ModelRun, *, actor=None, request=None) -> ModelRun:
    """Stop a run: exams not yet started are cancelled; workers drop their queued tasks unread.

    An exam that a worker is predicting at this moment is not interrupted; its result is discarded
    (tasks.py checks the item state before writing).
    """
    with transaction.atomic():
        updated = ModelRun.objects.filter(pk=run.pk, status__in=[ModelRun.Status.PENDING, ModelRun.Status.RUNNING]).update(
            status=ModelRun.Status.CANCELLED, finished_at=timezone.now()
        )
        if not updated:
            run.refresh_from_db()
            raise RunError(f"run {run.pk} is already {run.get_status_display().lower()}")
        cancelled = run.items.filter(state__in=ModelRunItem.UNFINISHED).update(
            state=ModelRunItem.State.CANCELLED, finished_at=timezone.now(), error="cancelled by a coordinator"
        )
        audit.record(actor, "model_run.cancelled", run, request=request, exams_cancelled=cancelled)
    run.refresh_from_db()
    return run


@dataclass(frozen=True)
class Progress:
    run: int
    status: str
    total: int
    done: int
    failed: int
    running: int
    pending: int
    cancelled: int
    exams_per_minute: float | None
    elapsed_seconds: float | None
    eta_seconds: float | None
    finished: bool

    def as_dict(self) -> dict:
        return asdict(self)


def progress(run: ModelRun) -> Progress:
    """Counts per state and the throughput: finished exams per minute since the first exam started."""
    counts = dict.fromkeys(ModelRunItem.State.values, 0)
    for row in run.items.values("state").annotate(n=Count("pk")):
        counts[row["state"]] = row["n"]
    last_finish = run.items.filter(state__in=[ModelRunItem.State.DONE, ModelRunItem.State.FAILED]).aggregate(
        last=Max("finished_at")
    )["last"]
    finished_exams = counts["done"] + counts["failed"]
    rate = elapsed = eta = None
    if run.started_at is not None:
        end = run.finished_at if run.is_finished and run.finished_at else timezone.now()
        elapsed = max((end - run.started_at).total_seconds(), 0.0)
        # Throughput is measured up to the last finished exam, so idle time after it does not dilute it.
        window = (last_finish - run.started_at).total_seconds() if last_finish else elapsed
        if finished_exams and window > 0:
            rate = 60.0 * finished_exams / window
            remaining = counts["pending"] + counts["running"]
            eta = None if run.is_finished else 60.0 * remaining / rate
    return Progress(
        run=run.pk,
        status=run.status,
        total=sum(counts.values()),
        done=counts["done"],
        failed=counts["failed"],
        running=counts["running"],
        pending=counts["pending"],
        cancelled=counts["cancelled"],
        exams_per_minute=None if rate is None else round(rate, 2),
        elapsed_seconds=None if elapsed is None else round(elapsed, 1),
        eta_seconds=None if eta is None else round(eta, 1),
        finished=run.is_finished,
    )
