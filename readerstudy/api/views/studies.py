"""Studies, members, arms, reading sets and assignments; the access policy decides who sees and changes what."""
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from readerstudy.access import policy
from readerstudy.api import serializers as s
from readerstudy.api.permissions import Allowed
from readerstudy.api.views.base import ServiceViewSet, valid
from readerstudy.studies import assignments, exports, lifecycle, memberships, progress, reading_sets
from readerstudy.studies.models import Arm, Assignment, Study


class StudyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ServiceViewSet):
    """Studies the user takes part in. Study creators create them; the study's coordinator edits
    (protocol amendments once open, with a reason), opens, closes, unblinds and adds members."""

    serializer_class = s.StudySerializer
    permission_classes = [Allowed(site=None, site_write=policy.STUDY_CREATE, obj=policy.STUDY_VIEW, obj_write=policy.STUDY_MANAGE)]

    def get_queryset(self):
        return policy.studies(self.request.user).select_related("created_by").prefetch_related("arms").order_by("-created_at")

    def get_permissions(self):
        if self.action in ("partial_update", "update", "open_study", "close_study", "add_member", "progress", "progress_csv", "unblind"):
            object_action = {"progress": policy.STUDY_PROGRESS, "progress_csv": policy.STUDY_PROGRESS,
                             "unblind": policy.STUDY_UNBLIND}.get(self.action, policy.STUDY_MANAGE)
            return [Allowed(obj=object_action)()]
        return super().get_permissions()

    def perform_create(self, serializer):
        serializer.instance = lifecycle.create_study(self.request.user, request=self.request, **serializer.validated_data)

    @extend_schema(request=s.StudyUpdateSerializer, responses=s.StudySerializer)
    def partial_update(self, request, pk=None):
        """Edit a draft; amend an open study's protocol (`reason` required; the version goes up)."""
        study = self.get_object()
        data = valid(s.StudyUpdateSerializer, request, partial=True)
        reason = data.pop("reason", "")
        lifecycle.update_study(study, request.user, data, reason=reason, request=request)
        return Response(s.StudySerializer(study).data)

    @extend_schema(request=None, responses=s.StudySerializer)
    @action(detail=True, methods=["post"], url_path="open", url_name="open")
    def open_study(self, request, pk=None):
        """Open the study: the protocol is frozen as version 1 and reading begins."""
        study = lifecycle.open_study(self.get_object(), request.user, request=request)
        return Response(self.get_serializer(study).data)

    @extend_schema(request=None, responses=s.StudySerializer)
    @action(detail=True, methods=["post"], url_path="close", url_name="close")
    def close_study(self, request, pk=None):
        """Close the study: reading ends and its coordinator and statistician see the answers from now on."""
        study = lifecycle.close_study(self.get_object(), request.user, request=request)
        return Response(self.get_serializer(study).data)

    @extend_schema(request=s.ReasonSerializer, responses=s.UnblindingSerializer)
    @action(detail=True, methods=["post"])
    def unblind(self, request, pk=None):
        """Interim unblinding of an open study, recorded with who, when and why."""
        study = self.get_object()
        unblinding = lifecycle.unblind(study, request.user, valid(s.ReasonSerializer, request)["reason"], request=request)
        return Response(s.UnblindingSerializer(unblinding).data)

    @extend_schema(request=s.MemberCreateSerializer, responses={201: s.MembershipSerializer})
    @action(detail=True, methods=["post"], url_path="members", url_name="members")
    def add_member(self, request, pk=None):
        """Give a user one role in this study (a reader is randomised into a sequence group)."""
        study = self.get_object()
        data = valid(s.MemberCreateSerializer, request)
        user = get_object_or_404(get_user_model(), pk=data["user"])
        membership = memberships.add_member(study, user, data["role"], request.user, request=request)
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=inline_serializer("StudyProgress", {
        "overall": serializers.DictField(), "readers": serializers.ListField(child=serializers.DictField()), "exams": serializers.ListField(child=serializers.DictField()),
    }))
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        """Per reader, session and arm: exams read, median reading time, last activity; per exam: number of reads."""
        study = self.get_object()
        readers = progress.by_reader(study)
        return Response({
            "overall": progress.overall(readers),
            "readers": [r.__dict__ for r in readers],
            "exams": [e.__dict__ for e in progress.by_exam(study)],
        })

    @extend_schema(parameters=[OpenApiParameter("table", str, enum=["readers", "exams"])], responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="progress-csv")
    def progress_csv(self, request, pk=None):
        study = self.get_object()
        return exports.progress_csv(request, study, request.query_params.get("table", "readers"))


class ArmViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ServiceViewSet):
    """The arms of the user's studies: the coordinator sets the model run of the AI-aided arm
    (once the study is open, a protocol amendment with a reason)."""

    serializer_class = s.ArmSerializer
    permission_classes = [Allowed(obj=policy.STUDY_VIEW, obj_write=policy.STUDY_MANAGE)]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return Arm.objects.filter(study__in=policy.studies(self.request.user)).select_related("study")

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj.study)

    @extend_schema(request=s.ArmUpdateSerializer, responses=s.ArmSerializer)
    def partial_update(self, request, pk=None):
        arm = self.get_object()
        data = valid(s.ArmUpdateSerializer, request, context={"request": request})
        lifecycle.configure_arm(arm, request.user, model_run=data.get("model_run"), reason=data.get("reason", ""), request=request)
        return Response(s.ArmSerializer(arm).data)


class ReadingSetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    """Reading sets of the studies the user coordinates or analyses (their selection records truth
    strata, so readers never see them); built by the coordinator while the study is a draft."""

    serializer_class = s.ReadingSetSerializer
    permission_classes = [Allowed(obj=policy.READING_SET_VIEW)]

    def get_queryset(self):
        sets = policy.reading_sets(self.request.user).select_related("study")
        study = self.request.query_params.get("study")
        return sets.filter(study_id=study) if study and study.isdigit() else sets

    def _managed_study(self, study) -> Study:
        policy.require(self.request.user, policy.STUDY_MANAGE, study)
        return study

    @extend_schema(request=s.ReadingSetCreateSerializer, responses={201: s.ReadingSetSerializer})
    def create(self, request):
        """A reading set of picked exams, in the given order."""
        data = valid(s.ReadingSetCreateSerializer, request)
        reading_set = reading_sets.create_reading_set(self._managed_study(data["study"]), request.user, name=data["name"], exam_ids=data["exams"], request=request)
        return Response(s.ReadingSetSerializer(reading_set).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReadingSetSampleSerializer, responses={201: s.ReadingSetSerializer})
    @action(detail=False, methods=["post"])
    def sample(self, request):
        """A random sample of the (filtered) imported exams, stratified by ground truth."""
        data = valid(s.ReadingSetSampleSerializer, request)
        reading_set = reading_sets.sample_reading_set(
            self._managed_study(data["study"]), request.user, name=data["name"], size=data.get("size"), per_stratum=data.get("per_stratum"),
            seed=data.get("seed"), filters=data.get("filters"), base=policy.selectable_exams(request.user), request=request,
        )
        return Response(s.ReadingSetSerializer(reading_set).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ExamIdsSerializer, responses=s.ReadingSetSerializer)
    @action(detail=True, methods=["post"], url_path="exams", url_name="exams")
    def add_exams(self, request, pk=None):
        """Append exams to a set of a draft study that nobody is assigned to yet (409 otherwise)."""
        reading_set = self.get_object()
        self._managed_study(reading_set.study)
        data = valid(s.ExamIdsSerializer, request)
        reading_sets.add_exams(reading_set, request.user, data["exams"], request=request)
        return Response(s.ReadingSetSerializer(reading_set).data)


class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    """A reader's own assignments; every assignment of the studies the user coordinates or analyses.
    Each has its session, stored case order and whether it is open now."""

    serializer_class = s.AssignmentSerializer
    permission_classes = [Allowed(obj=policy.ASSIGNMENT_VIEW)]

    def get_queryset(self):
        rows = policy.assignments(self.request.user, Assignment.objects.select_related("reader", "arm__study", "reading_set"))
        study = self.request.query_params.get("study")
        return rows.filter(arm__study_id=study) if study and study.isdigit() else rows

    @extend_schema(request=s.AssignmentCreateSerializer, responses={201: s.AssignmentSerializer(many=True)})
    def create(self, request):
        """Assign a reader (a reader member of the study) to a reading set: one assignment per arm and
        session, following the reader's sequence group."""
        data = valid(s.AssignmentCreateSerializer, request)
        reading_set = data["reading_set"]
        policy.require(request.user, policy.STUDY_MANAGE, reading_set.study)
        created = assignments.assign(reading_set, data["reader"], request.user, opens_at=data.get("opens_at"), request=request)
        return Response(s.AssignmentSerializer(created, many=True).data, status=status.HTTP_201_CREATED)
