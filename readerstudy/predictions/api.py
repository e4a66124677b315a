"""REST endpoints of model versions, runs, their progress and predictions (joined into /api/).

Coordinators read and write; statisticians read. Readers see none of this: model output reaches
them only through the AI-aided arm's overlay (overlay.py).
"""
from django.shortcuts import get_object_or_404
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from readerstudy.accounts import roles
from readerstudy.predictions import registry, runs
from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction
from readerstudy.studies.models import ReadingSet, Study


class CoordinatorsWriteStatisticiansRead(BasePermission):
    message = "Only coordinators (and, read-only, statisticians) may use model endpoints."

    def has_permission(self, request, view):
        if roles.is_coordinator(request.user):
            return True
        return request.method in SAFE_METHODS and roles.is_statistician(request.user)


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "variant", "weights_file", "heatmap_weights_file", "sha256", "demonstration", "notes",
                  "metadata", "created_at"]
        read_only_fields = ["variant", "sha256", "demonstration", "metadata", "created_at"]


class ModelRunSerializer(serializers.ModelSerializer):
    model_version = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.all())
    reading_set = serializers.PrimaryKeyRelatedField(queryset=ReadingSet.objects.all(), required=False, allow_null=True)
    study = serializers.PrimaryKeyRelatedField(queryset=Study.objects.all(), required=False, allow_null=True)
    options = serializers.DictField(required=False)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ModelRun
        fields = ["id", "model_version", "study", "reading_set", "status", "options", "created_at", "started_at",
                  "finished_at", "progress"]
        read_only_fields = ["status", "created_at", "started_at", "finished_at"]

    def get_progress(self, run) -> dict:
        return runs.progress(run).as_dict()


class PredictionSerializer(serializers.ModelSerializer):
    exam_label = serializers.CharField(source="exam.label", read_only=True)

    class Meta:
        model = Prediction
        fields = ["exam", "exam_label", "left_benign", "right_benign", "left_malignant", "right_malignant", "created_at"]


class ModelVersionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Registered model versions. POST registers a weights file by its path on the workers' storage."""

    queryset = ModelVersion.objects.all()
    serializer_class = ModelVersionSerializer
    permission_classes = [CoordinatorsWriteStatisticiansRead]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            version = registry.register_weights(
                data["weights_file"], name=data["name"], heatmap_weights=data.get("heatmap_weights_file") or None,
                notes=data.get("notes", ""), actor=request.user, request=request,
            )
        except registry.RegistrationError as error:
            raise serializers.ValidationError({"detail": str(error)}) from None
        return Response(self.get_serializer(version).data, status=status.HTTP_201_CREATED)


class ModelRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Model runs with their progress. POST starts a run over a reading set or a study."""

    queryset = ModelRun.objects.select_related("model_version")
    serializer_class = ModelRunSerializer
    permission_classes = [CoordinatorsWriteStatisticiansRead]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            run = runs.start_run(data["model_version"], reading_set=data.get("reading_set"), study=data.get("study"),
                                 options=data.get("options"), actor=request.user, request=request)
        except runs.RunError as error:
            raise serializers.ValidationError({"detail": str(error)}) from None
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        return Response(runs.progress(self.get_object()).as_dict())

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        try:
            runs.cancel_run(run, actor=request.user, request=request)
        except runs.RunError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(run).data)

    @action(detail=True, methods=["get"])
    def predictions(self, request, pk=None):
        run = get_object_or_404(ModelRun, pk=pk)
        queryset = Prediction.objects.filter(run=run).select_related("exam").order_by("exam__label")
        page = self.paginate_queryset(queryset)
        serializer = PredictionSerializer(page if page is not None else queryset, many=True)
        return self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)


router = SimpleRouter(use_regex_path=False)
router.register("model-versions", ModelVersionViewSet, basename="api-model-version")
router.register("model-runs", ModelRunViewSet, basename="api-model-run")
api_urlpatterns = router.urls
