"""Readings: readers open, submit and amend their own while the session is open; the study's
coordinator and statistician read submitted readings once the study is unblinded."""
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from readerstudy.access import policy
from readerstudy.api import serializers as s
from readerstudy.api.permissions import Allowed
from readerstudy.api.views.base import ServiceViewSet, valid
from readerstudy.studies import amendments, submission
from readerstudy.studies.answers import ANSWER_FIELDS
from readerstudy.studies.models import Assignment, Reading


def own_assignment(request, assignment_id) -> Assignment:
    """The requesting reader's assignment; anyone else's is indistinguishable from none (404)."""
    assignment = Assignment.objects.select_related("arm__study", "reading_set").filter(pk=assignment_id).first()
    if assignment is None:
        raise Http404("No such assignment.")
    policy.require(request.user, policy.ASSIGNMENT_READ, assignment, hide=True)
    return assignment


class ReadingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    """Individual readings, as the access policy lets the user see them."""

    serializer_class = s.ReadingSerializer
    permission_classes = [Allowed(obj=policy.READING_VIEW, obj_write=policy.READING_AMEND)]

    def get_queryset(self):
        readings = policy.readings(self.request.user, Reading.objects.select_related("assignment__arm__study"))
        for param, field in (("assignment", "assignment_id"), ("study", "assignment__arm__study_id")):
            value = self.request.query_params.get(param)
            if value and value.isdigit():
                readings = readings.filter(**{field: value})
        return readings

    @extend_schema(request=s.ReadingOpenSerializer, responses=s.ReadingSerializer)
    @action(detail=False, methods=["post"], url_path="open", url_name="open")
    def open_reading(self, request):
        """Record that the exam is shown now (starts the reading time); returns the draft or the submitted reading."""
        data = valid(s.ReadingOpenSerializer, request)
        reading = submission.open_reading(own_assignment(request, data["assignment"]), data["exam"])
        return Response(s.ReadingSerializer(reading).data)

    @extend_schema(request=s.ReadingSubmitSerializer, responses={201: s.ReadingSerializer, 200: s.ReadingSerializer})
    def create(self, request):
        """Submit the answers for one exam. 201 when stored, 200 when a retry with the same client_key finds it stored."""
        data = valid(s.ReadingSubmitSerializer, request)
        assignment = own_assignment(request, data["assignment"])
        reading, created = submission.submit(
            assignment, data["exam"], {f: data[f] for f in ANSWER_FIELDS}, client_key=data["client_key"], request=request,
        )
        return Response(s.ReadingSerializer(reading).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=s.AmendSerializer, responses=s.ReadingSerializer)
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        """Amend one's own submitted reading with a reason, inside the open session, when the protocol allows it."""
        reading = self.get_object()
        data = valid(s.AmendSerializer, request)
        reading = amendments.amend(reading.pk, request.user, {f: data[f] for f in ANSWER_FIELDS}, data["reason"], request=request)
        return Response(s.ReadingSerializer(reading).data)

    @extend_schema(responses=s.RevisionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def revisions(self, request, pk=None):
        """Every version of the reading: the first submission (0) and each amendment."""
        reading = self.get_object()
        return Response(s.RevisionSerializer(reading.revisions.select_related("created_by"), many=True).data)
