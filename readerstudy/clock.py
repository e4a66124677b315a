"""The time every service reads. Tests move it (`monkeypatch.setattr(clock, "now", ...)`) to walk
through a washout without waiting for it."""
from django.utils import timezone


def now():
    return timezone.now()
