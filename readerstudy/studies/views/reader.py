"""The reader's pages: the worklist and the viewer page of one exam."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect, render

from readerstudy.accounts import roles
from readerstudy.studies import crossover
from readerstudy.studies.api_reading import exam_context, next_unread, reader_assignment
from readerstudy.studies.models import Assignment, Reading


def _require_reader(user):
    if not roles.is_reader(user):
        raise PermissionDenied("Only readers have a worklist.")


def worklist(request):
    """The reader's own assignments with progress (n of N) and a way to continue."""
    _require_reader(request.user)
    assignments = (
        Assignment.objects.filter(reader=request.user)
        .select_related("arm__study", "reading_set")
        .annotate(submitted=Count("readings", filter=Q(readings__status=Reading.Status.SUBMITTED)))
        .order_by("arm__study__name", "reading_set__name", "arm__position")
    )
    rows = []
    for assignment in assignments:
        total = len(assignment.case_order)
        status = crossover.arm_status(assignment)
        rows.append({
            "assignment": assignment,
            "done": assignment.submitted,
            "total": total,
            "finished": assignment.submitted >= total,
            "status": status,
        })
    return render(request, "studies/worklist.html", {"rows": rows})


def continue_reading(request, assignment_id):
    """Opens the next unread exam in the reader's stored order."""
    assignment = reader_assignment(request, assignment_id)
    crossover.require_open(assignment)
    exam_id = next_unread(assignment)
    if exam_id is None:
        messages.success(request, f"You have read every exam of {assignment.reading_set.name}. Thank you.")
        return redirect("reader:worklist")
    return redirect("reader:viewer", assignment.pk, exam_id)


def viewer(request, assignment_id, exam_id):
    """The reading workstation for one exam of the reader's assignment."""
    assignment = reader_assignment(request, assignment_id)
    crossover.require_open(assignment)
    context = exam_context(assignment, exam_id)
    return render(request, "studies/viewer.html", {"assignment": assignment, "viewer_context": context})
