"""What the study pages share: fetching a study the access policy lets the user act on, and
showing a service's errors on a form. The login itself is required by the middleware."""
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404

from readerstudy.access import policy
from readerstudy.studies.models import Study


def get_study(request, study_id, action=policy.STUDY_MANAGE) -> Study:
    """The study, if the policy allows `action` on it (403 otherwise; 404 if it does not exist)."""
    study = get_object_or_404(Study.objects.prefetch_related("arms"), pk=study_id)
    policy.require(request.user, action, study)
    return study


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: per field where the field exists, else on the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
