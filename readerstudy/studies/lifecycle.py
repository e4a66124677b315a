"""Creating, editing, opening and closing a study, and configuring its arms (every change audited)."""
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from readerstudy import audit
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Arm, Study

# Fields that shape readings already made; they are fixed once the study opens.
FROZEN_WHEN_OPEN = ("unit", "seed")
EDITABLE = ("name", "description", "unit", "washout_days", "allow_amendments", "seed")


def create_study(by, *, name, description="", unit=Study.Unit.BREAST, washout_days=0, allow_amendments=False, seed=None, request=None) -> Study:
    """A draft study with its two arms: unaided first, AI-aided second (the crossover order)."""
    if seed is None:
        seed = secrets.randbits(62)
    try:
        with transaction.atomic():
            study = Study.objects.create(
                name=name, description=description, unit=unit, washout_days=washout_days,
                allow_amendments=allow_amendments, seed=seed, created_by=by,
            )
            Arm.objects.create(study=study, kind=Arm.Kind.UNAIDED, position=0)
            Arm.objects.create(study=study, kind=Arm.Kind.AI_AIDED, position=1)
            audit.record(by, "study.created", study, study=study, request=request, name=name, unit=unit, washout_days=washout_days)
    except IntegrityError:
        raise ValidationError({"name": "A study with this name already exists."}) from None
    return study


def update_study(study: Study, by, changes: dict, *, request=None) -> Study:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}.")
    changed = {k: v for k, v in changes.items() if getattr(study, k) != v}
    if study.is_closed and changed:
        raise Conflict("A closed study cannot be changed.")
    frozen = [k for k in FROZEN_WHEN_OPEN if k in changed]
    if frozen and study.status != Study.Status.DRAFT:
        raise Conflict(f"{', '.join(frozen)} cannot change once the study has opened.")
    if not changed:
        return study
    for key, value in changed.items():
        setattr(study, key, value)
    try:
        with transaction.atomic():
            study.save(update_fields=list(changed))
            audit.record(by, "study.updated", study, study=study, request=request, changed=sorted(changed))
    except IntegrityError:
        raise ValidationError({"name": "A study with this name already exists."}) from None
    return study


def open_study(study: Study, by, *, request=None) -> Study:
    if study.status != Study.Status.DRAFT:
        raise Conflict(f"Only a draft study can be opened; this one is {study.get_status_display().lower()}.")
    with transaction.atomic():
        study.status = Study.Status.OPEN
        study.save(update_fields=["status"])
        audit.record(by, "study.opened", study, study=study, request=request)
    return study


def close_study(study: Study, by, *, request=None) -> Study:
    """Closing ends reading and unblinds individual answers to coordinators; it cannot be undone."""
    if study.is_closed:
        raise Conflict("The study is already closed.")
    with transaction.atomic():
        study.status = Study.Status.CLOSED
        study.closed_at = timezone.now()
        study.save(update_fields=["status", "closed_at"])
        audit.record(by, "study.closed", study, study=study, request=request)
    return study


def configure_arm(arm: Arm, by, *, position=None, model_run=None, request=None) -> Arm:
    """Set an arm's crossover position and the model run shown in an AI-aided arm."""
    study = arm.study
    if study.is_closed:
        raise Conflict("A closed study cannot be changed.")
    changed = []
    if position is not None and position != arm.position:
        if study.status != Study.Status.DRAFT:
            raise Conflict("The order of the arms cannot change once the study has opened.")
        arm.position = position
        changed.append("position")
    if model_run is not None and model_run.pk != arm.model_run_id:
        if arm.kind != Arm.Kind.AI_AIDED:
            raise ValidationError({"model_run": "Only the AI-aided arm shows model output."})
        if model_run.study_id not in (None, study.pk):
            raise ValidationError({"model_run": "This model run belongs to another study."})
        arm.model_run = model_run
        changed.append("model_run")
    if changed:
        with transaction.atomic():
            arm.save(update_fields=changed)
            audit.record(by, "arm.updated", arm, study=study, request=request, kind=arm.kind, position=arm.position, model_run=arm.model_run_id)
    return arm
