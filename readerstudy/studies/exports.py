"""CSV downloads shared by the coordinator pages and the API; every export is itself audited."""
import csv
import io
import json

from django.http import HttpResponse

from readerstudy import audit
from readerstudy.studies import progress
from readerstudy.studies.answers import ANSWER_FIELDS

AUDIT_COLUMNS = ("id", "at", "actor_username", "action", "object_type", "object_id", "study_id", "ip_address", "details")
READING_COLUMNS = ("reading_id", "reader", "reading_set", "arm", "exam", "status", *ANSWER_FIELDS, "first_shown_at", "submitted_at", "duration_ms", "revision")


def _csv(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _cell(value):
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else value


def progress_csv(request, study, table: str) -> HttpResponse:
    """Progress per reader and arm (`table=readers`) or per exam (`table=exams`)."""
    if table == "exams":
        rows, row_type = progress.by_exam(study), progress.ExamReads
    else:
        table, rows, row_type = "readers", progress.by_reader(study), progress.ReaderArmProgress
    out = io.StringIO()
    progress.write_csv(row_type, rows, out)
    audit.record(request.user, "export", study, study=study, request=request, what=f"progress_{table}", rows=len(rows))
    return _csv(out.getvalue(), f"study-{study.pk}-progress-{table}.csv")


def audit_csv(request, events) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    count = 0
    for event in events.order_by("at", "id").iterator():
        count += 1
        row = [_cell(getattr(event, column)) for column in AUDIT_COLUMNS[:-1]]
        writer.writerow([*row, json.dumps(event.details, sort_keys=True)])
    audit.record(request.user, "export", request=request, what="audit_trail", rows=count, filters=dict(request.GET.items()))
    return _csv(out.getvalue(), "audit-trail.csv")


def readings_csv(request, study, readings) -> HttpResponse:
    """Individual answers; callers pass only readings the user may see (see `blinding`)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(READING_COLUMNS)
    rows = readings.filter(assignment__arm__study=study).select_related("assignment__reader", "assignment__reading_set", "assignment__arm", "exam").order_by("assignment__reader__username", "assignment__arm__position", "exam__label")
    count = 0
    for r in rows.iterator():
        count += 1
        writer.writerow([_cell(v) for v in (
            r.pk, r.assignment.reader.get_username(), r.assignment.reading_set.name, r.assignment.arm.kind, r.exam.label, r.status,
            *(getattr(r, f) for f in ANSWER_FIELDS), r.first_shown_at, r.submitted_at, r.duration_ms, r.revision,
        )])
    audit.record(request.user, "export", study, study=study, request=request, what="readings", rows=count)
    return _csv(out.getvalue(), f"study-{study.pk}-readings.csv")
