"""A reader's sessions: when an assignment may be read, and when its readings lock.

Each reader of a study reads in two sessions (periods). Which modality comes first follows the
reader's randomised sequence group (`Membership.sequence_group`); with `Study.split_cases` each
session holds half of a reading set in each modality (see `assignments`). Session 2 opens only
when the reader has finished session 1, and `Study.washout_days` after the reader's last
submitted reading of session 1 (the washout runs per reader). A session's readings are locked,
read-only and hidden to their reader, once the session is complete (session 2 cannot start
before that). The worklist shows `arm_status`; every reading endpoint calls `require_open`.
"""
from datetime import datetime, timedelta
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.utils import timezone

from readerstudy import clock


class ArmStatus(NamedTuple):
    is_open: bool
    opens_at: datetime | None
    reason: str


OPEN = ArmStatus(True, None, "")
LOCKED_REASON = "You have finished this session; its readings are locked."


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def session_assignments(reader_id: int, study_id: int, session: int):
    """With their submitted counts and last submit time."""
    from readerstudy.studies.models import Assignment

    return Assignment.objects.filter(reader_id=reader_id, arm__study_id=study_id, session=session).annotate(
        submitted=Count("readings", filter=Q(readings__status="submitted")),
        last_submit=Max("readings__submitted_at", filter=Q(readings__status="submitted")),
    )


def _complete(rows) -> bool:
    return bool(rows) and all(row.submitted >= len(row.case_order) for row in rows)


def is_locked(assignment) -> bool:
    """Whether the assignment's session is complete: its readings are then read-only and hidden to the reader."""
    return _complete(list(session_assignments(assignment.reader_id, assignment.arm.study_id, assignment.session)))


def locked_assignment_ids(user) -> list[int]:
    """The user's assignments in complete sessions."""
    from readerstudy.studies.models import Assignment

    rows = Assignment.objects.filter(reader_id=user.pk).annotate(
        submitted=Count("readings", filter=Q(readings__status="submitted"))).values_list(
        "pk", "arm__study_id", "session", "submitted", "case_order")
    sessions: dict[tuple[int, int], list] = {}
    for pk, study_id, session, submitted, case_order in rows:
        sessions.setdefault((study_id, session), []).append((pk, submitted >= len(case_order)))
    return [pk for members in sessions.values() if all(done for _, done in members) for pk, _ in members]


def arm_status(assignment, now: datetime | None = None) -> ArmStatus:
    """(is_open, opens_at, reason): whether the reader may read this assignment now, and if not, why and when."""
    now = now or clock.now()
    study = assignment.arm.study
    if study.status == study.Status.DRAFT:
        return ArmStatus(False, None, "The study has not started yet.")
    if study.status == study.Status.CLOSED:
        return ArmStatus(False, None, "The study is closed.")
    if assignment.opens_at and now < assignment.opens_at:
        return ArmStatus(False, assignment.opens_at, f"Opens on {_when(assignment.opens_at)}.")
    if is_locked(assignment):
        return ArmStatus(False, None, LOCKED_REASON)
    if assignment.session > 1:
        earlier = list(session_assignments(assignment.reader_id, study.pk, assignment.session - 1))
        if not _complete(earlier):
            wait = f"{study.washout_days} day{'s' if study.washout_days != 1 else ''} after" if study.washout_days else "when"
            return ArmStatus(False, None, f"Session {assignment.session} opens {wait} you finish session {assignment.session - 1}.")
        if study.washout_days:
            opens_at = max(row.last_submit for row in earlier) + timedelta(days=study.washout_days)
            if now < opens_at:
                return ArmStatus(False, opens_at, f"Washout of {study.washout_days} days: opens on {_when(opens_at)}.")
    return OPEN


def require_open(assignment, now: datetime | None = None) -> None:
    """Raise PermissionDenied with the reason when the assignment may not be read now."""
    status = arm_status(assignment, now)
    if not status.is_open:
        raise PermissionDenied(status.reason)
