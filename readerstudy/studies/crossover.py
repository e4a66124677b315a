"""When an assignment may be read: study status, an explicit opening time, and the crossover washout.

In a crossover a reader reads a reading set in the arm at position 0 (unaided), then the same
set in the next arm (AI-aided) in a fresh random order, but only `study.washout_days` after
submitting the last reading of the earlier arm, so that the first reading is not remembered.
The worklist shows `arm_status`; every reading endpoint calls `require_open`.
"""
from datetime import datetime, timedelta
from typing import NamedTuple

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.utils import timezone


class ArmStatus(NamedTuple):
    is_open: bool
    opens_at: datetime | None
    reason: str


OPEN = ArmStatus(True, None, "")


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def earlier_assignments(assignment):
    """The same reader's assignments to the same reading set in arms that come before this one."""
    from readerstudy.studies.models import Assignment

    return Assignment.objects.filter(
        reader_id=assignment.reader_id,
        reading_set_id=assignment.reading_set_id,
        arm__study_id=assignment.arm.study_id,
        arm__position__lt=assignment.arm.position,
    ).select_related("arm")


def arm_status(assignment, now: datetime | None = None) -> ArmStatus:
    """(is_open, opens_at, reason): whether the reader may read this assignment now, and if not, why and when."""
    now = now or timezone.now()
    study = assignment.arm.study
    if study.status == study.Status.DRAFT:
        return ArmStatus(False, None, "The study has not started yet.")
    if study.status == study.Status.CLOSED:
        return ArmStatus(False, None, "The study is closed.")
    if assignment.opens_at and now < assignment.opens_at:
        return ArmStatus(False, assignment.opens_at, f"Opens on {_when(assignment.opens_at)}.")

    earlier = list(
        earlier_assignments(assignment).annotate(
            submitted=Count("readings", filter=Q(readings__status="submitted")),
            last_submit=Max("readings__submitted_at", filter=Q(readings__status="submitted")),
        )
    )
    unfinished = [a for a in earlier if a.submitted < len(a.case_order)]
    if unfinished:
        first = min(unfinished, key=lambda a: a.arm.position)
        wait = f"{study.washout_days} day{'s' if study.washout_days != 1 else ''} after" if study.washout_days else "when"
        return ArmStatus(False, None, f"Opens {wait} you finish the {first.arm.get_kind_display()} arm of this reading set.")
    if earlier and study.washout_days:
        opens_at = max(a.last_submit for a in earlier if a.last_submit) + timedelta(days=study.washout_days)
        if now < opens_at:
            return ArmStatus(False, opens_at, f"Washout of {study.washout_days} days: opens on {_when(opens_at)}.")
    return OPEN


def require_open(assignment, now: datetime | None = None) -> None:
    """Raise PermissionDenied with the reason when the assignment may not be read now."""
    status = arm_status(assignment, now)
    if not status.is_open:
        raise PermissionDenied(status.reason)
