"""Studies, arms, reading sets and assignments. Coordinators change them; the others read what their role allows."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from readerstudy.accounts import roles
from readerstudy.api import serializers as s
from readerstudy.api.permissions import CoordinatorWrites, IsCoordinator, IsCoordinatorOrStatistician
from readerstudy.api.views.base import ServiceViewSet, valid
from readerstudy.studies import aggregates, assignments, blinding, exports, lifecycle, progress, reading_sets
from readerstudy.studies.models import Arm, Assignment, ReadingSet, Study


def studies_visible_to(user):
    if roles.is_coordinator(user) or roles.is_statistician(user):
        return Study.objects.all()
    return Study.objects.filter(arms__assignments__reader=user).distinct()


class StudyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ServiceViewSet):
    """Studies. Readers see the studies they are assigned to; coordinators create, edit, open and close them."""

    serializer_class = s.StudySerializer
    permission_classes = [CoordinatorWrites]

    def get_queryset(self):
        return studies_visible_to(self.request.user).select_related("created_by").prefetch_related("arms")

    def perform_create(self, serializer):
        serializer.instance = lifecycle.create_study(self.request.user, request=self.request, **serializer.validated_data)

    def perform_update(self, serializer):
        lifecycle.update_study(serializer.instance, self.request.user, dict(serializer.validated_data), request=self.request)

    @extend_schema(request=None, responses=s.StudySerializer)
    @action(detail=True, methods=["post"], url_path="open", url_name="open")
    def open_study(self, request, pk=None):
        study = lifecycle.open_study(self.get_object(), request.user, request=request)
        return Response(self.get_serializer(study).data)

    @extend_schema(request=None, responses=s.StudySerializer)
    @action(detail=True, methods=["post"], url_path="close", url_name="close")
    def close_study(self, request, pk=None):
        """Close the study: reading ends and coordinators see individual answers from now on."""
        study = lifecycle.close_study(self.get_object(), request.user, request=request)
        return Response(self.get_serializer(study).data)

    @extend_schema(responses=inline_serializer("StudyProgress", {
        "overall": serializers.DictField(), "readers": serializers.ListField(child=serializers.DictField()), "exams": serializers.ListField(child=serializers.DictField()),
    }))
    @action(detail=True, methods=["get"], permission_classes=[IsCoordinator])
    def progress(self, request, pk=None):
        """Per reader and arm: exams read, median reading time, last activity; per exam: number of reads."""
        study = self.get_object()
        readers = progress.by_reader(study)
        return Response({
            "overall": progress.overall(readers),
            "readers": [r.__dict__ for r in readers],
            "exams": [e.__dict__ for e in progress.by_exam(study)],
        })

    @extend_schema(parameters=[OpenApiParameter("table", str, enum=["readers", "exams"])], responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="progress-csv", permission_classes=[IsCoordinator])
    def progress_csv(self, request, pk=None):
        study = self.get_object()
        return exports.progress_csv(request, study, request.query_params.get("table", "readers"))

    @extend_schema(responses=inline_serializer("AnswersSummary", {"arms": serializers.ListField(child=serializers.DictField()), "min_readings": serializers.IntegerField()}))
    @action(detail=True, methods=["get"], url_path="answers-summary", permission_classes=[IsCoordinatorOrStatistician])
    def answers_summary(self, request, pk=None):
        """Answers in aggregate per arm: what a blinded coordinator may see of an open study (small arms withheld)."""
        study = self.get_object()
        unblinded = blinding.can_see_answers(request.user, study)
        return Response({"arms": aggregates.answers_by_arm(study, unblinded=unblinded), "min_readings": aggregates.MIN_READINGS})


class ArmViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ServiceViewSet):
    """The arms of the studies: coordinators set the crossover position and the model run of the AI-aided arm."""

    serializer_class = s.ArmSerializer
    permission_classes = [CoordinatorWrites]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return Arm.objects.filter(study__in=studies_visible_to(self.request.user)).select_related("study")

    def perform_update(self, serializer):
        data = serializer.validated_data
        lifecycle.configure_arm(serializer.instance, self.request.user, position=data.get("position"), model_run=data.get("model_run"), request=self.request)


class ReadingSetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    """Reading sets; their selection records how they were drawn (strata counts), so readers never see them."""

    serializer_class = s.ReadingSetSerializer
    permission_classes = [IsCoordinatorOrStatistician]

    def get_permissions(self):
        if self.action in ("create", "sample", "add_exams"):
            return [IsCoordinator()]
        return super().get_permissions()

    def get_queryset(self):
        reading_set = ReadingSet.objects.select_related("study")
        study = self.request.query_params.get("study")
        return reading_set.filter(study_id=study) if study and study.isdigit() else reading_set

    @extend_schema(request=s.ReadingSetCreateSerializer, responses={201: s.ReadingSetSerializer})
    def create(self, request):
        """A reading set of picked exams, in the given order."""
        data = valid(s.ReadingSetCreateSerializer, request)
        reading_set = reading_sets.create_reading_set(data["study"], request.user, name=data["name"], exam_ids=data["exams"], request=request)
        return Response(s.ReadingSetSerializer(reading_set).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReadingSetSampleSerializer, responses={201: s.ReadingSetSerializer})
    @action(detail=False, methods=["post"])
    def sample(self, request):
        """A random sample of the (filtered) imported exams, stratified by ground truth."""
        data = valid(s.ReadingSetSampleSerializer, request)
        reading_set = reading_sets.sample_reading_set(
            data["study"], request.user, name=data["name"], size=data.get("size"), per_stratum=data.get("per_stratum"),
            seed=data.get("seed"), filters=data.get("filters"), request=request,
        )
        return Response(s.ReadingSetSerializer(reading_set).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ExamIdsSerializer, responses=s.ReadingSetSerializer)
    @action(detail=True, methods=["post"], url_path="exams", url_name="exams")
    def add_exams(self, request, pk=None):
        """Append exams to a set nobody is assigned to yet (409 once assigned)."""
        data = valid(s.ExamIdsSerializer, request)
        reading_set = self.get_object()
        reading_sets.add_exams(reading_set, request.user, data["exams"], request=request)
        return Response(s.ReadingSetSerializer(reading_set).data)


class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    """Assignments of readers to (reading set, arm), each with its stored case order and whether it is open now."""

    serializer_class = s.AssignmentSerializer

    def get_permissions(self):
        if self.action == "create":
            return [IsCoordinator()]
        return super().get_permissions()

    def get_queryset(self):
        user = self.request.user
        assignments = Assignment.objects.select_related("reader", "arm__study", "reading_set")
        if not (roles.is_coordinator(user) or roles.is_statistician(user)):
            assignments = assignments.filter(reader=user)
        study = self.request.query_params.get("study")
        return assignments.filter(arm__study_id=study) if study and study.isdigit() else assignments

    @extend_schema(request=s.AssignmentCreateSerializer, responses={201: s.AssignmentSerializer})
    def create(self, request):
        data = valid(s.AssignmentCreateSerializer, request)
        assignment = assignments.assign(data["reading_set"], data["arm"], data["reader"], request.user, opens_at=data.get("opens_at"), request=request)
        return Response(s.AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

