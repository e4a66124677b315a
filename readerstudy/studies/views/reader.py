"""The reader's pages: the worklist and the viewer page of one exam."""
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render

from readerstudy.access import policy
from readerstudy.studies import sessions
from readerstudy.studies.models import Assignment, Reading
from readerstudy.studies.viewer_context import exam_context, next_unread


def reader_assignment(request, assignment_id, *, open_now=True) -> Assignment:
    """The requesting reader's assignment, open for reading now (another reader's is a 404)."""
    assignment = Assignment.objects.select_related("arm__study", "reading_set").filter(pk=assignment_id).first()
    if assignment is None:
        raise Http404("No such assignment.")
    policy.require(request.user, policy.ASSIGNMENT_READ, assignment, hide=True)
    if open_now:
        sessions.require_open(assignment)
    return assignment


def worklist(request):
    """The reader's own assignments, session by session, with progress (n of N) and a way to continue."""
    policy.require(request.user, policy.WORKLIST)
    assignments = (
        policy.assignments(request.user).filter(reader=request.user)
        .select_related("arm__study", "reading_set")
        .annotate(submitted=Count("readings", filter=Q(readings__status=Reading.Status.SUBMITTED)))
        .order_by("arm__study__name", "session", "reading_set__name", "arm__position")
    )
    rows = []
    for assignment in assignments:
        total = len(assignment.case_order)
        rows.append({
            "assignment": assignment,
            "done": assignment.submitted,
            "total": total,
            "finished": assignment.submitted >= total,
            "status": sessions.arm_status(assignment),
        })
    return render(request, "studies/worklist.html", {"rows": rows})


def continue_reading(request, assignment_id):
    """Opens the next unread exam in the reader's stored order."""
    assignment = reader_assignment(request, assignment_id, open_now=False)
    exam_id = next_unread(assignment)
    if exam_id is None:
        messages.success(request, f"You have read every exam of {assignment.reading_set.name} in this part of session "
                                  f"{assignment.session}. Thank you.")
        return redirect("reader:worklist")
    sessions.require_open(assignment)
    return redirect("reader:viewer", assignment.pk, exam_id)


def viewer(request, assignment_id, exam_id):
    """The reading workstation for one exam of the reader's assignment."""
    assignment = reader_assignment(request, assignment_id)
    if exam_id not in assignment.case_order:
        raise Http404("This exam is not part of the assignment.")
    context = exam_context(assignment, exam_id)
    return render(request, "studies/viewer.html", {"assignment": assignment, "viewer_context": context})
