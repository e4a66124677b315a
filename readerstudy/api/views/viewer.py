"""The viewer's JSON endpoints (part of the REST API): the exam context, the draft autosave, submit.

They answer only for the requesting reader's own assignment (another's is a 404, as if it did
not exist) and only while its session is open; submit is the same service as POST /api/readings/.
"""
from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from readerstudy.access import policy
from readerstudy.api import serializers as s
from readerstudy.studies import drafts, sessions, submission, viewer_context
from readerstudy.studies.answers import ANSWER_FIELDS
from readerstudy.studies.models import Assignment, Reading

ViewerReading = inline_serializer("ViewerReading", {
    "status": serializers.CharField(), **{f: serializers.FloatField(allow_null=True) for f in ANSWER_FIELDS},
    "first_shown_at": serializers.DateTimeField(allow_null=True), "submitted_at": serializers.DateTimeField(allow_null=True),
    "duration_ms": serializers.IntegerField(allow_null=True), "updated_at": serializers.DateTimeField(),
})


def reader_assignment(request, assignment_id, *, open_now=True) -> Assignment:
    """The requesting reader's assignment (readable now, with `open_now`); another reader's is a 404."""
    assignment = Assignment.objects.select_related("arm__study", "reading_set").filter(pk=assignment_id).first()
    if assignment is None:
        raise Http404("No such assignment.")
    policy.require(request.user, policy.ASSIGNMENT_READ, assignment, hide=True)
    if open_now:
        sessions.require_open(assignment)
    return assignment


def _in_assignment(assignment, exam_id) -> None:
    if exam_id not in assignment.case_order:
        raise Http404("This exam is not part of the assignment.")


@extend_schema(responses=inline_serializer("ViewerContext", {"assignment": serializers.DictField(), "exam": serializers.DictField(),
               "reading": serializers.DictField(), "urls": serializers.DictField(), "next": serializers.DictField(allow_null=True),
               "ai_overlay": serializers.DictField(allow_null=True)}))
@api_view(["GET"])
def context(request, assignment_id, exam_id):
    """The exam context of the viewer (used when moving to the next exam in place)."""
    assignment = reader_assignment(request, assignment_id)
    _in_assignment(assignment, exam_id)
    return Response(viewer_context.exam_context(assignment, exam_id))


@extend_schema(methods=["GET"], responses=ViewerReading)
@extend_schema(methods=["PUT"], request=inline_serializer("ViewerDraft", {f: serializers.FloatField(allow_null=True, required=False) for f in ANSWER_FIELDS}),
               responses=ViewerReading)
@api_view(["GET", "PUT"])
def draft(request, assignment_id, exam_id):
    """GET: the reading as stored. PUT: replace the draft answers (null = not answered yet)."""
    assignment = reader_assignment(request, assignment_id)
    _in_assignment(assignment, exam_id)
    if request.method == "GET":
        reading = Reading.objects.filter(assignment=assignment, exam_id=exam_id).first()
        if reading is None:
            raise Http404("This exam has not been opened yet.")
        return Response(viewer_context.reading_json(reading))
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"detail": "The request body must be a JSON object."})
    reading = drafts.save_draft(assignment, exam_id, dict(request.data), request=request)
    return Response(viewer_context.reading_json(reading))


@extend_schema(request=s.ViewerSubmitSerializer, responses=ViewerReading)
@api_view(["POST"])
def submit(request, assignment_id, exam_id):
    """Submit and lock the reading. A retry with the same client_key gets the same answer and
    stores nothing new."""
    # The service checks that the session is open, after answering a retry of a stored submit.
    assignment = reader_assignment(request, assignment_id, open_now=False)
    body = request.data if isinstance(request.data, dict) else {}
    reading, _created = submission.submit(assignment, exam_id, body, client_key=body.get("client_key"), request=request)
    return Response(viewer_context.reading_json(reading, viewer_context.progress_of(assignment)))
