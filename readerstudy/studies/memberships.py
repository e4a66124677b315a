"""Who takes part in a study, in which one role, and (readers) in which randomised sequence group.

Separation of duties: a user holds one role per study (a database constraint), so nobody is both
a reader and the coordinator or statistician of the same study. Readers are randomised into the
two sequence groups in blocks of two (seeded by the study, stored), so the groups stay balanced
as readers join; in a fixed-sequence study every reader reads unaided first.
"""
import hashlib
import random

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from readerstudy import audit
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Membership, Study

Role = Membership.Role
Sequence = Membership.Sequence


def sequence_group(study: Study, index: int) -> str:
    """The group of the study's `index`-th reader (0-based): a seeded permutation per block of two."""
    if study.sequence_design == Study.SequenceDesign.UNAIDED_FIRST:
        return Sequence.UNAIDED_FIRST
    block = index // 2
    digest = hashlib.sha256(f"{int(study.seed)}:sequence:{block}".encode()).digest()
    groups = [Sequence.UNAIDED_FIRST, Sequence.AIDED_FIRST]
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(groups)
    return groups[index % 2]


def add_member(study: Study, user, role: str, by, *, request=None) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Role.values)}."})
    if study.is_closed:
        raise Conflict("A closed study cannot be changed.")
    if not user.is_active:
        raise ValidationError({"user": f"{user.get_username()} is not an active account."})
    existing = Membership.objects.filter(study=study, user=user).first()
    if existing is not None:
        if existing.role == role:
            return existing
        raise Conflict(
            f"{user.get_username()} is already the {existing.get_role_display().lower()} of this study; "
            "nobody is both a reader and its coordinator or statistician.")
    try:
        with transaction.atomic():
            Study.objects.select_for_update().get(pk=study.pk)  # serialise the block randomisation
            group = ""
            if role == Role.READER:
                group = sequence_group(study, Membership.objects.filter(study=study, role=Role.READER).count())
            membership = Membership.objects.create(study=study, user=user, role=role, sequence_group=group, added_by=by)
            audit.record(by, "membership.added", membership, study=study, request=request,
                         user=user.get_username(), role=role, sequence_group=group)
    except IntegrityError:
        raise Conflict(f"{user.get_username()} already has a role in this study.") from None
    return membership


def regroup_readers(study: Study) -> None:
    """Re-randomise every reader after a change of sequence design (only while nobody is assigned)."""
    for index, membership in enumerate(Membership.objects.filter(study=study, role=Role.READER).order_by("joined_at", "pk")):
        membership.sequence_group = sequence_group(study, index)
        membership.save(update_fields=["sequence_group"])


def membership_of(study, user) -> Membership | None:
    return Membership.objects.filter(study=study, user=user).first()
