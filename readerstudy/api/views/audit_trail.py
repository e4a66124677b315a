"""The audit trail, read-only for coordinators, with filters and a CSV export (itself audited)."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action

from readerstudy.api import serializers as s
from readerstudy.api.permissions import IsCoordinator
from readerstudy.api.views.base import ServiceViewSet
from readerstudy.audit.models import AuditEvent
from readerstudy.studies import audit_trail, exports

FILTERS = [
    OpenApiParameter("study", int), OpenApiParameter("action", str), OpenApiParameter("actor", str, description="username"),
    OpenApiParameter("object_type", str), OpenApiParameter("since", OpenApiTypes.DATETIME), OpenApiParameter("until", OpenApiTypes.DATETIME),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    serializer_class = s.AuditEventSerializer
    permission_classes = [IsCoordinator]

    def get_queryset(self):
        if self.action == "retrieve":
            return AuditEvent.objects.all()
        return audit_trail.filtered(AuditEvent.objects.all(), self.request.query_params)

    @extend_schema(parameters=FILTERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path="csv", url_name="csv")
    def export(self, request):
        return exports.audit_csv(request, self.get_queryset())
