"""Whether a study's answers are blinded: until it closes, or until an explicit, recorded interim
unblinding. Who may see what once it is unblinded is the access policy's decision."""
from django.db.models import Exists, OuterRef, Q

from readerstudy.studies.models import Study, Unblinding


def is_unblinded(study) -> bool:
    return study.status == Study.Status.CLOSED or Unblinding.objects.filter(study_id=study.pk).exists()


def _unblinded_q():
    return Q(status=Study.Status.CLOSED) | Q(Exists(Unblinding.objects.filter(study_id=OuterRef("pk"))))


def unblinded(studies):
    return studies.filter(_unblinded_q())


def blinded(studies):
    return studies.exclude(_unblinded_q())
