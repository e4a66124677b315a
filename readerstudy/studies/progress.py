"""Progress of a study in aggregate: per reader and arm, and per exam. No answers appear here."""
import csv
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from readerstudy.studies import sessions
from readerstudy.studies.models import Assignment, Reading, ReadingSetExam


@dataclass(frozen=True)
class ReaderArmProgress:
    assignment_id: int
    reader_id: int
    reader: str
    reading_set: str
    session: int
    arm: str
    total: int
    read: int
    percent: float
    median_reading_seconds: float | None
    last_activity: datetime | None
    is_open: bool
    opens_at: datetime | None
    status: str


@dataclass(frozen=True)
class ExamReads:
    exam_id: int
    exam: str
    reading_set: str
    reads: int
    expected: int


def _percent(done: int, total: int) -> float:
    return round(100.0 * done / total, 1) if total else 0.0


def by_reader(study) -> list[ReaderArmProgress]:
    assignments = Assignment.objects.filter(arm__study=study).select_related("reader", "reading_set", "arm__study").order_by("reader__username", "session", "reading_set__name", "arm__position")
    durations, submitted, last = defaultdict(list), defaultdict(int), {}
    for assignment_id, status, duration_ms, updated_at in Reading.objects.filter(assignment__arm__study=study).values_list("assignment_id", "status", "duration_ms", "updated_at"):
        last[assignment_id] = max(updated_at, last.get(assignment_id, updated_at))
        if status == Reading.Status.SUBMITTED:
            submitted[assignment_id] += 1
            if duration_ms is not None:
                durations[assignment_id].append(duration_ms)
    rows = []
    for a in assignments:
        state = sessions.arm_status(a)
        rows.append(ReaderArmProgress(
            assignment_id=a.pk, reader_id=a.reader_id, reader=a.reader.get_username(), reading_set=a.reading_set.name,
            session=a.session, arm=a.arm.kind, total=len(a.case_order), read=submitted[a.pk], percent=_percent(submitted[a.pk], len(a.case_order)),
            median_reading_seconds=round(statistics.median(durations[a.pk]) / 1000.0, 1) if durations[a.pk] else None,
            last_activity=last.get(a.pk), is_open=state.is_open, opens_at=state.opens_at, status=state.reason or "open",
        ))
    return rows


def by_exam(study) -> list[ExamReads]:
    expected = defaultdict(int)
    for reading_set_id, case_order in Assignment.objects.filter(arm__study=study).values_list("reading_set_id", "case_order"):
        for exam_id in case_order:
            expected[(reading_set_id, exam_id)] += 1
    reads = defaultdict(int)
    for reading_set_id, exam_id in Reading.objects.filter(assignment__arm__study=study, status=Reading.Status.SUBMITTED).values_list("assignment__reading_set_id", "exam_id"):
        reads[(reading_set_id, exam_id)] += 1
    members = ReadingSetExam.objects.filter(reading_set__study=study).select_related("exam", "reading_set").order_by("reading_set__name", "position")
    return [
        ExamReads(m.exam_id, m.exam.label, m.reading_set.name, reads[(m.reading_set_id, m.exam_id)], expected[(m.reading_set_id, m.exam_id)])
        for m in members
    ]


def overall(rows: list[ReaderArmProgress]) -> dict:
    done, total = sum(r.read for r in rows), sum(r.total for r in rows)
    return {"read": done, "total": total, "percent": _percent(done, total)}


def write_csv(row_type, rows, out) -> None:
    """Write rows of a dataclass (ReaderArmProgress or ExamReads) as CSV with a header."""
    writer = csv.writer(out)
    names = [f.name for f in fields(row_type)]
    writer.writerow(names)
    for row in rows:
        values = asdict(row)
        writer.writerow(["" if values[n] is None else values[n].isoformat() if isinstance(values[n], datetime) else values[n] for n in names])
