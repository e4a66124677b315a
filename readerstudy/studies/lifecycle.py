"""A study's life: draft (protocol editable) -> open (protocol frozen) -> closed (unblinded).

Opening freezes the protocol: arms and each arm's model run, sequence design and split, washout,
amendment policy, the hybrid's lambda and the reading sets. A change afterwards is a protocol
amendment: a reason is required, the protocol version goes up by one, and who, when, why, the
old and the new values are kept (`ProtocolAmendment`). Some fields cannot change at all once the
study is open, because readings already depend on them. Every change is audited with its old and
new values.
"""
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from readerstudy import audit, clock
from readerstudy.studies import memberships
from readerstudy.studies.errors import Conflict
from readerstudy.studies.models import Arm, Assignment, Membership, ProtocolAmendment, ReadingSetExam, Study, Unblinding

# Not protocol: editable at any time, audited.
DESCRIPTIVE = ("name", "description")
# Protocol fields that an amendment may change while the study is open.
AMENDABLE = ("washout_days", "allow_amendments", "hybrid_lambda")
# Protocol fields fixed once the study opens: readings, orders and randomisation depend on them.
FIXED_WHEN_OPEN = ("unit", "seed", "sequence_design", "split_cases")
# ... and once anyone is assigned, since the assignments were built from them.
FIXED_WHEN_ASSIGNED = ("seed", "sequence_design", "split_cases")
EDITABLE = DESCRIPTIVE + AMENDABLE + FIXED_WHEN_OPEN
PROTOCOL = AMENDABLE + FIXED_WHEN_OPEN


def create_study(by, *, name, description="", unit=Study.Unit.BREAST, washout_days=0, allow_amendments=False, seed=None,
                 sequence_design=Study.SequenceDesign.COUNTERBALANCED, split_cases=False, hybrid_lambda=0.5,
                 request=None) -> Study:
    """A draft study with its two arms; its creator becomes its coordinator."""
    if seed is None:
        seed = secrets.randbits(62)
    _check_lambda(hybrid_lambda)
    try:
        with transaction.atomic():
            study = Study.objects.create(
                name=name, description=description, unit=unit, washout_days=washout_days,
                allow_amendments=allow_amendments, seed=seed, created_by=by, sequence_design=sequence_design,
                split_cases=split_cases, hybrid_lambda=hybrid_lambda,
            )
            Arm.objects.create(study=study, kind=Arm.Kind.UNAIDED, position=0)
            Arm.objects.create(study=study, kind=Arm.Kind.AI_AIDED, position=1)
            audit.record(by, "study.created", study, study=study, request=request, name=name,
                         protocol={field: getattr(study, field) for field in PROTOCOL})
            memberships.add_member(study, by, Membership.Role.COORDINATOR, by, request=request)
    except IntegrityError:
        raise ValidationError({"name": "A study with this name already exists."}) from None
    return study


def _check_lambda(value) -> None:
    if value is None or not 0 <= float(value) <= 1:
        raise ValidationError({"hybrid_lambda": "lambda lies between 0 (model only) and 1 (reader only)."})


def _record_amendment(study: Study, by, changes: dict, reason: str, request=None) -> ProtocolAmendment:
    study.protocol_version += 1
    study.save(update_fields=["protocol_version"])
    amendment = ProtocolAmendment.objects.create(
        study=study, version=study.protocol_version, changes=changes, reason=reason, by=by, at=clock.now())
    audit.record(by, "protocol.amended", amendment, study=study, request=request, version=study.protocol_version,
                 changes=changes, reason=reason)
    return amendment


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "A protocol amendment needs a reason."})
    return reason


def update_study(study: Study, by, changes: dict, *, reason: str = "", request=None) -> Study:
    """Edit a draft freely; amend an open study's protocol (with a reason); a closed study is final."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}.")
    changed = {k: v for k, v in changes.items() if getattr(study, k) != v}
    if not changed:
        return study
    if study.is_closed:
        raise Conflict("A closed study cannot be changed.")
    if "hybrid_lambda" in changed:
        _check_lambda(changed["hybrid_lambda"])
    if not study.is_draft:
        fixed = [k for k in FIXED_WHEN_OPEN if k in changed]
        if fixed:
            raise Conflict(f"{', '.join(fixed)} cannot change once the study has opened.")
    assigned = Assignment.objects.filter(arm__study=study).exists()
    fixed = [k for k in FIXED_WHEN_ASSIGNED if k in changed]
    if fixed and assigned:
        raise Conflict(f"{', '.join(fixed)} cannot change once readers are assigned.")
    protocol_changes = {k: {"old": getattr(study, k), "new": v} for k, v in changed.items() if k in PROTOCOL}
    if protocol_changes and not study.is_draft:
        reason = _require_reason(reason)
    values = {k: {"old": getattr(study, k), "new": v} for k, v in changed.items()}
    for key, value in changed.items():
        setattr(study, key, value)
    try:
        with transaction.atomic():
            study.save(update_fields=list(changed))
            if "sequence_design" in changed or "seed" in changed:
                memberships.regroup_readers(study)
            audit.record(by, "study.updated", study, study=study, request=request, changes=values)
            if protocol_changes and not study.is_draft:
                _record_amendment(study, by, protocol_changes, reason, request)
    except IntegrityError:
        raise ValidationError({"name": "A study with this name already exists."}) from None
    return study


def study_exam_ids(study: Study) -> set[int]:
    return set(ReadingSetExam.objects.filter(reading_set__study=study).values_list("exam_id", flat=True))


def run_problems(study: Study, run) -> list[str]:
    """Why a model run cannot be the AI-aided arm's run: it must be completed, cover every exam of the
    study, and its heatmaps, where it shows any, must be exact (not the fast approximation)."""
    problems = []
    if run.status != run.Status.DONE:
        problems.append(f"run {run.pk} is {run.get_status_display().lower()}, not completed")
    missing = study_exam_ids(study) - set(run.predictions.values_list("exam_id", flat=True))
    if missing:
        problems.append(f"run {run.pk} has no prediction for {len(missing)} exam(s) of this study")
    options = run.options or {}
    if options.get("heatmaps") and options.get("heatmap_mode", "exact") != "exact":
        problems.append(f"run {run.pk} shows fast (approximate) heatmaps; an arm needs exact heatmaps")
    return problems


def open_study(study: Study, by, *, request=None) -> Study:
    """Freeze the protocol (version 1) and let reading begin."""
    if study.status != Study.Status.DRAFT:
        raise Conflict(f"Only a draft study can be opened; this one is {study.get_status_display().lower()}.")
    if not study_exam_ids(study):
        raise Conflict("The study has no reading set with exams yet.")
    aided = study.arms.get(kind=Arm.Kind.AI_AIDED)
    if aided.model_run is None:
        raise Conflict("The AI-aided arm has no model run: choose a completed run covering every exam.")
    problems = run_problems(study, aided.model_run)
    if problems:
        raise Conflict("The AI-aided arm's model run cannot be used: " + "; ".join(problems) + ".")
    with transaction.atomic():
        study.status = Study.Status.OPEN
        study.opened_at = clock.now()
        study.protocol_version = 1
        study.save(update_fields=["status", "opened_at", "protocol_version"])
        audit.record(by, "study.opened", study, study=study, request=request, protocol_version=1,
                     protocol={**{field: getattr(study, field) for field in PROTOCOL}, "ai_model_run": aided.model_run_id})
    return study


def close_study(study: Study, by, *, request=None) -> Study:
    """Closing ends reading and unblinds the answers; it cannot be undone."""
    if study.is_closed:
        raise Conflict("The study is already closed.")
    with transaction.atomic():
        study.status = Study.Status.CLOSED
        study.closed_at = clock.now()
        study.save(update_fields=["status", "closed_at"])
        audit.record(by, "study.closed", study, study=study, request=request)
    return study


def unblind(study: Study, by, reason: str, *, request=None) -> Unblinding:
    """An interim unblinding of an open study: recorded with who, when and why, and shown on its page."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "An interim unblinding needs a reason."})
    if study.status != Study.Status.OPEN:
        raise Conflict("Only an open study is unblinded early; a closed study is unblinded already.")
    with transaction.atomic():
        if Unblinding.objects.select_for_update().filter(study=study).exists():
            raise Conflict("This study has been unblinded already.")
        unblinding = Unblinding.objects.create(study=study, by=by, at=clock.now(), reason=reason)
        audit.record(by, "study.unblinded", unblinding, study=study, request=request, reason=reason)
    return unblinding


def configure_arm(arm: Arm, by, *, model_run=None, reason: str = "", request=None) -> Arm:
    """Set the model run shown in the AI-aided arm; once the study is open, as a protocol amendment."""
    study = arm.study
    if study.is_closed:
        raise Conflict("A closed study cannot be changed.")
    if model_run is None or model_run.pk == arm.model_run_id:
        return arm
    if arm.kind != Arm.Kind.AI_AIDED:
        raise ValidationError({"model_run": "Only the AI-aided arm shows model output."})
    if not study.is_draft:
        problems = run_problems(study, model_run)
        if problems:
            raise ValidationError({"model_run": "; ".join(problems) + "."})
        reason = _require_reason(reason)
    old = arm.model_run_id
    with transaction.atomic():
        arm.model_run = model_run
        arm.save(update_fields=["model_run"])
        audit.record(by, "arm.updated", arm, study=study, request=request, kind=arm.kind,
                     changes={"model_run": {"old": old, "new": model_run.pk}})
        if not study.is_draft:
            _record_amendment(study, by, {"ai_aided.model_run": {"old": old, "new": model_run.pk}}, reason, request)
    return arm
