"""What every API view of this project shares: service errors become precise 4xx responses."""
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.viewsets import GenericViewSet

from readerstudy.api.permissions import HasRole
from readerstudy.studies.errors import Conflict


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def as_api_error(exc):
    """Translate the studies services' errors (Django ValidationError, Conflict) into DRF's."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return exceptions.ValidationError(detail)
    if isinstance(exc, Conflict):
        return ConflictError(str(exc))
    return exc


class ServiceViewSet(GenericViewSet):
    permission_classes = [HasRole]
    lookup_value_converter = "int"  # typed ids in the routes and the schema

    def handle_exception(self, exc):
        return super().handle_exception(as_api_error(exc))


def valid(serializer_class, request) -> dict:
    """The request body validated by `serializer_class` (400 with field errors otherwise)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
