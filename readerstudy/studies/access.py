"""Object-level access rules of the studies app, used by every view and API endpoint."""
from django.http import Http404

from readerstudy.accounts import roles


def assignment_for_reader(user, assignment_id):
    """The reader's own assignment, or 404: another reader's assignment is indistinguishable from none."""
    from readerstudy.studies.models import Assignment

    try:
        return Assignment.objects.select_related("arm__study", "reading_set").get(pk=assignment_id, reader=user)
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such assignment.") from None


def can_manage_studies(user) -> bool:
    return roles.is_coordinator(user)


def can_analyse(user) -> bool:
    return roles.is_statistician(user) or roles.is_coordinator(user)
