"""REST endpoints of model versions, runs, their progress and predictions (joined into /api/).

Every decision is the access policy's (readerstudy/access/policy.py), asked through the small
permission class below (this app sits below studies and api, so it cannot use
api/permissions.py): reads need MODEL_VIEW (study creators, and the coordinators and
statisticians of a study); registering a model version or starting a run needs MODEL_REGISTER;
a run is visible as the policy's `model_runs` says (RUN_VIEW) and cancelled with RUN_MANAGE.
Readers see none of this: model output reaches them only through the AI-aided arm's overlay.
A run is a list of exams here; runs over a study's reading sets are started from the study's page.
"""
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from readerstudy.access import policy
from readerstudy.predictions import registry, runs
from readerstudy.predictions.models import ModelRun, ModelVersion, Prediction


class PolicyPermission(BasePermission):
    """Asks the policy: `view.site_actions[view.action]` (default MODEL_VIEW) for the request, and
    `view.object_actions[view.action]` (default `view.object_action`, None: nothing more) for the
    object a detail route fetches."""

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        decision = getattr(view, "site_actions", {}).get(view.action, policy.MODEL_VIEW)
        self.message = policy.MESSAGES.get(decision, "Permission denied.")
        return policy.can(request.user, decision)

    def has_object_permission(self, request, view, instance):
        decision = getattr(view, "object_actions", {}).get(view.action, getattr(view, "object_action", None))
        if decision is None:
            return True
        self.message = policy.MESSAGES.get(decision, "Permission denied.")
        return policy.can(request.user, decision, instance)


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "variant", "weights_file", "heatmap_weights_file", "sha256", "demonstration", "notes",
                  "metadata", "created_at"]
        read_only_fields = ["variant", "sha256", "demonstration", "metadata", "created_at"]


class ModelRunSerializer(serializers.ModelSerializer):
    model_version = serializers.PrimaryKeyRelatedField(queryset=ModelVersion.objects.all())
    exams = serializers.ListField(child=serializers.IntegerField(min_value=1), write_only=True, allow_empty=False,
                                  help_text="The exam ids to run the model over, in order (required to start a run).")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    options = serializers.DictField(required=False)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ModelRun
        fields = ["id", "model_version", "exams", "description", "status", "options", "created_at", "started_at",
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
    permission_classes = [PolicyPermission]
    site_actions = {"create": policy.MODEL_REGISTER}

    def get_queryset(self):
        return policy.model_versions(self.request.user, super().get_queryset())

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
    """Model runs the user may see, with their progress. POST starts a run over a list of exams."""

    queryset = ModelRun.objects.select_related("model_version")
    serializer_class = ModelRunSerializer
    permission_classes = [PolicyPermission]
    site_actions = {"create": policy.MODEL_REGISTER}
    object_action = policy.RUN_VIEW
    object_actions = {"cancel": policy.RUN_MANAGE}

    def get_queryset(self):
        return policy.model_runs(self.request.user, super().get_queryset())

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        exam_ids = list(dict.fromkeys(data["exams"]))
        allowed = set(policy.selectable_exams(request.user).filter(pk__in=exam_ids).values_list("pk", flat=True))
        refused = [exam_id for exam_id in exam_ids if exam_id not in allowed]
        if refused:
            raise serializers.ValidationError({"exams": f"No exam you may run a model over has id {', '.join(map(str, refused[:10]))}."})
        try:
            run = runs.start_run(data["model_version"], exam_ids=exam_ids, description=data.get("description", ""),
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
        run = self.get_object()
        queryset = Prediction.objects.filter(run=run).select_related("exam").order_by("exam__label")
        page = self.paginate_queryset(queryset)
        serializer = PredictionSerializer(page if page is not None else queryset, many=True)
        return self.get_paginated_response(serializer.data) if page is not None else Response(serializer.data)


router = SimpleRouter(use_regex_path=False)
router.register("model-versions", ModelVersionViewSet, basename="api-model-version")
router.register("model-runs", ModelRunViewSet, basename="api-model-run")
api_urlpatterns = router.urls
