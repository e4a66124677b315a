"""Filtering the audit trail (shared by the coordinator page and the API)."""
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def _moment(value: str, name: str, end_of_day: bool = False) -> dict:
    """A lookup on `at` from a date (the whole day counts) or a date and time (naive: the server's time zone)."""
    op = "lte" if end_of_day else "gte"
    try:
        day = parse_date(value) if len(value) == 10 else None
        moment = None if day else parse_datetime(value)
    except ValueError:  # well formed but impossible, e.g. 2026-02-30
        day = moment = None
    if day is not None:
        return {f"at__date__{op}": day}
    if moment is None:
        raise ValidationError({name: "Give a date (YYYY-MM-DD) or a date and time."})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return {f"at__{op}": moment}


def filtered(events, params):
    """Events narrowed by the query parameters study, action, actor, object_type, since, until."""
    study = params.get("study")
    if study:
        if not study.isdigit():
            raise ValidationError({"study": "A study id is a number."})
        events = events.filter(study_id=int(study))
    for param, field in (("action", "action"), ("actor", "actor_username"), ("object_type", "object_type")):
        if params.get(param):
            events = events.filter(**{field: params[param]})
    if params.get("since"):
        events = events.filter(**_moment(params["since"], "since"))
    if params.get("until"):
        events = events.filter(**_moment(params["until"], "until", end_of_day=True))
    return events
