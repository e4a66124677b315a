"""Role checks of the coordinator pages (the login itself is required by the middleware)."""
from functools import wraps

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404

from readerstudy.accounts import roles
from readerstudy.studies.models import Study


def coordinator_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not roles.is_coordinator(request.user):
            raise PermissionDenied("Only coordinators may open this page.")
        return view(request, *args, **kwargs)

    return wrapped


def get_study(study_id) -> Study:
    return get_object_or_404(Study.objects.prefetch_related("arms"), pk=study_id)


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: per field where the field exists, else on the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
