"""What every API view of this project shares. Service errors become HTTP responses in one place:
readerstudy/api/errors.py (the project's EXCEPTION_HANDLER)."""
from rest_framework.viewsets import GenericViewSet

from readerstudy.api.permissions import Allowed


class ServiceViewSet(GenericViewSet):
    permission_classes = [Allowed()]  # logged in; the policy's querysets and rules narrow the rest
    lookup_value_converter = "int"  # typed ids in the routes and the schema


def valid(serializer_class, request, **kwargs) -> dict:
    """The request body validated by `serializer_class` (400 with field errors otherwise)."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
