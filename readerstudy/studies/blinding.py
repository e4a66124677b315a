"""Who may see individual answers (reading values).

Readers see only their own readings. Coordinators run the study but see answers only in
aggregate until the study is closed, so they cannot steer readers by what they answered.
Statisticians read what the analysis needs (submitted readings) and change nothing.
"""
from django.db.models import Q

from readerstudy.accounts import roles


def can_see_answers(user, study) -> bool:
    """Whether `user` may see every reader's individual answers in `study`."""
    if roles.is_statistician(user):
        return True
    if roles.is_coordinator(user):
        return study.is_closed
    return False


def visible_readings(user, readings):
    """Restrict a Reading queryset to what `user` may see value by value (the union over the user's roles)."""
    allowed = Q(pk__in=[])
    if roles.is_reader(user):
        allowed |= Q(assignment__reader_id=user.pk)
    if roles.is_statistician(user):
        allowed |= Q(status="submitted")
    if roles.is_coordinator(user):
        allowed |= Q(status="submitted", assignment__arm__study__status="closed")
    return readings.filter(allowed)
