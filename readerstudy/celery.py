"""The Celery app. Queues: "default" and the model queue (CELERY_GPU_QUEUE, "gpu" by default).

Run a worker with `celery -A readerstudy.celery worker -Q default,gpu`.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

app = Celery("readerstudy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="readerstudy.ping")
def ping(value=None):
    """A round-trip check: the worker answers with what it was sent."""
    return {"pong": value}
