"""Readings: readers open, submit and amend their own; others read only what blinding allows."""
from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from readerstudy.accounts import roles
from readerstudy.api import serializers as s
from readerstudy.api.permissions import IsReader
from readerstudy.api.views.base import ServiceViewSet, valid
from readerstudy.studies import amendments, blinding, submission
from readerstudy.studies.access import assignment_for_reader
from readerstudy.studies.answers import ANSWER_FIELDS
from readerstudy.studies.models import Reading


class ReadingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    """Individual readings. Readers: their own. Statisticians: submitted readings, read-only.
    Coordinators: only once the study is closed (before that, see a study's answers-summary)."""

    serializer_class = s.ReadingSerializer

    def get_permissions(self):
        if self.action in ("create", "open_reading", "amend"):
            return [IsReader()]
        return super().get_permissions()

    def get_queryset(self):
        readings = blinding.visible_readings(self.request.user, Reading.objects.select_related("assignment__arm__study"))
        for param, field in (("assignment", "assignment_id"), ("study", "assignment__arm__study_id")):
            value = self.request.query_params.get(param)
            if value and value.isdigit():
                readings = readings.filter(**{field: value})
        return readings

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            # A coordinator knows readings exist (progress shows them); say why the answers are hidden.
            pk = self.kwargs.get("pk")
            if roles.is_coordinator(self.request.user) and str(pk).isdigit() and Reading.objects.filter(pk=pk, status=Reading.Status.SUBMITTED).exists():
                raise PermissionDenied("Answers stay blinded until the study is closed.") from None
            raise

    @extend_schema(request=s.ReadingOpenSerializer, responses=s.ReadingSerializer)
    @action(detail=False, methods=["post"], url_path="open", url_name="open")
    def open_reading(self, request):
        """Record that the exam is shown now (starts the reading time); returns the draft or the submitted reading."""
        data = valid(s.ReadingOpenSerializer, request)
        assignment = assignment_for_reader(request.user, data["assignment"])
        reading = submission.open_reading(assignment, data["exam"])
        return Response(s.ReadingSerializer(reading).data)

    @extend_schema(request=s.ReadingSubmitSerializer, responses={201: s.ReadingSerializer, 200: s.ReadingSerializer})
    def create(self, request):
        """Submit the answers for one exam. 201 when stored, 200 when a retry with the same client_key finds it stored."""
        data = valid(s.ReadingSubmitSerializer, request)
        assignment = assignment_for_reader(request.user, data["assignment"])
        reading, created = submission.submit(
            assignment, data["exam"], {f: data[f] for f in ANSWER_FIELDS}, client_key=data["client_key"], request=request,
        )
        return Response(s.ReadingSerializer(reading).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=s.AmendSerializer, responses=s.ReadingSerializer)
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        """Amend one's own submitted reading with a reason (when the study allows it); history is kept."""
        reading = self.get_object()
        if reading.assignment.reader_id != request.user.pk:
            raise NotFound()  # only one's own readings; statisticians who also read see others' too
        data = valid(s.AmendSerializer, request)
        reading = amendments.amend(reading.pk, request.user, {f: data[f] for f in ANSWER_FIELDS}, data["reason"], request=request)
        return Response(s.ReadingSerializer(reading).data)

    @extend_schema(responses=s.RevisionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def revisions(self, request, pk=None):
        """Every version of the reading: the first submission (0) and each amendment."""
        reading = self.get_object()
        return Response(s.RevisionSerializer(reading.revisions.select_related("created_by"), many=True).data)

