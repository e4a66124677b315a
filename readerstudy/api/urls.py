"""The REST API under /api/: the schema, its documentation, tokens, this app's routes and those other apps expose."""
import importlib

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import SimpleRouter

from readerstudy.api.views import viewer
from readerstudy.api.views.audit_trail import AuditEventViewSet
from readerstudy.api.views.readers import ReaderViewSet
from readerstudy.api.views.readings import ReadingViewSet
from readerstudy.api.views.studies import ArmViewSet, AssignmentViewSet, ReadingSetViewSet, StudyViewSet
from readerstudy.api.views.tokens import AuditedObtainAuthToken

# SimpleRouter: no browsable root and no format-suffix duplicates of every route.
router = SimpleRouter(use_regex_path=False)
router.register("studies", StudyViewSet, basename="api-study")
router.register("arms", ArmViewSet, basename="api-arm")
router.register("reading-sets", ReadingSetViewSet, basename="api-reading-set")
router.register("assignments", AssignmentViewSet, basename="api-assignment")
router.register("readings", ReadingViewSet, basename="api-reading")
router.register("audit-events", AuditEventViewSet, basename="api-audit-event")
router.register("readers", ReaderViewSet, basename="api-reader")

urlpatterns = [
    # Like every page, the schema and its documentation are for logged-in users (session or token).
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[IsAuthenticated]), name="api-docs"),
    path("token/", AuditedObtainAuthToken.as_view(), name="api-token"),
    # The reading workstation's endpoints (the viewer gets these URLs from its context).
    path("viewer/assignments/<int:assignment_id>/exams/<int:exam_id>/", viewer.context, name="api-viewer-context"),
    path("viewer/assignments/<int:assignment_id>/exams/<int:exam_id>/draft", viewer.draft, name="api-viewer-draft"),
    path("viewer/assignments/<int:assignment_id>/exams/<int:exam_id>/submit", viewer.submit, name="api-viewer-submit"),
    path("", include(router.urls)),
]

# Other apps own their endpoints and expose them as `api_urlpatterns`; each joins the API once
# its module exists, so this file never has to change when they land.
for module_name in (
    "readerstudy.exams.api",
    "readerstudy.predictions.api",
    "readerstudy.analysis.api",
):
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise  # the module exists but something it imports is missing: a real error
        continue
    if hasattr(module, "api_urlpatterns"):
        urlpatterns.append(path("", include(module.api_urlpatterns)))
