"""The one mapping of domain errors to HTTP, for every JSON endpoint (the REST API and the viewer's
endpoints, which are part of it): DRF's EXCEPTION_HANDLER.

- django ValidationError (bad input found by a service) -> 400 {"detail", "errors": {field: message}}
- PermissionDenied -> 403, Http404 -> 404 (DRF's own handling, with the service's message)
- Conflict (valid but clashes with the current state) -> 409 {"detail"}
DRF's own exceptions (serializer validation, authentication, throttling) keep DRF's format.
"""
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from readerstudy.studies.errors import Conflict


def _validation_body(error: DjangoValidationError) -> dict:
    if hasattr(error, "error_dict"):
        errors = {field: " ".join(messages) for field, messages in error.message_dict.items()}
        return {"detail": " ".join(f"{field}: {message}" for field, message in errors.items()), "errors": errors}
    return {"detail": " ".join(error.messages), "errors": {}}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        return Response(_validation_body(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)


class ConflictError(exceptions.APIException):
    """For API views that detect a conflict themselves."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"
