"""The audit trail, read-only, with filters and a CSV export (itself audited). What a user sees is
the access policy's audit scope: their studies' events, reading events hidden while blinded."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.decorators import action

from readerstudy.access import policy
from readerstudy.api import serializers as s
from readerstudy.api.permissions import Allowed
from readerstudy.api.views.base import ServiceViewSet
from readerstudy.studies import audit_trail, exports

FILTERS = [
    OpenApiParameter("study", int), OpenApiParameter("action", str), OpenApiParameter("actor", str, description="username"),
    OpenApiParameter("object_type", str), OpenApiParameter("since", OpenApiTypes.DATETIME), OpenApiParameter("until", OpenApiTypes.DATETIME),
]


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    serializer_class = s.AuditEventSerializer
    permission_classes = [Allowed(site=policy.AUDIT_VIEW)]

    def get_queryset(self):
        events = policy.audit_events(self.request.user)
        if self.action == "retrieve":
            return events
        return audit_trail.filtered(events, self.request.query_params)

    @extend_schema(parameters=FILTERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"], url_path="csv", url_name="csv")
    def export(self, request):
        return exports.audit_csv(request, self.get_queryset())
