"""The one access policy: who may see or do what on which object.

Every page, API endpoint, pixel, heatmap, prediction, export, audit and analysis view asks
`can(user, action, obj)` (or `require`, which raises), or narrows a list with one of the
querysets at the end; no view checks a role by itself. Apps below this layer (exams) ask through
Django's permission API (`user.has_perm(action, obj)`), answered by `PolicyBackend`, so that they
import nothing above them.

Roles are held per study (`studies.Membership`): coordinator, reader or statistician, one per
user and study. Site level: administrators (superusers) and study creators (may create studies,
import exams and truth, register models, create reader accounts). Blinding: while a study is
open and not explicitly unblinded, no number derived from answers reaches anyone, whatever the
role; readers see their own answers only while their session is open.

Chosen over django-guardian: the rules depend on state (study status, unblinding, a reader's
session), not only on stored grants, and grants are already the memberships; a table of
per-object grants would duplicate them and could drift from them.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from readerstudy.accounts.roles import is_study_creator
from readerstudy.audit.models import AuditEvent
from readerstudy.exams.models import Exam
from readerstudy.predictions.models import ModelRun, ModelVersion
from readerstudy.studies import blinding, sessions
from readerstudy.studies.models import Arm, Assignment, Membership, Reading, ReadingSet, Study

COORDINATOR, READER, STATISTICIAN = Membership.Role.COORDINATOR, Membership.Role.READER, Membership.Role.STATISTICIAN
ANALYSTS = (COORDINATOR, STATISTICIAN)

# Site-level actions (no object).
STUDY_CREATE = "study.create"
EXAM_IMPORT = "exam.import"
TRUTH_IMPORT = "truth.import"
MODEL_REGISTER = "model.register"
MODEL_VIEW = "model.view"
ACCOUNTS_MANAGE = "accounts.manage"
WORKLIST = "worklist.view"
ANALYSIS_INDEX = "analysis.index"
AUDIT_VIEW = "audit.view"
# On a study.
STUDY_VIEW = "study.view"
STUDY_MANAGE = "study.manage"
STUDY_PROGRESS = "study.progress"
STUDY_UNBLIND = "study.unblind"
STUDY_ANSWERS = "study.answers"
STUDY_TRUTH = "study.truth"
STUDY_AUDIT = "study.audit"
# On other objects.
READING_SET_VIEW = "reading_set.view"
ASSIGNMENT_VIEW = "assignment.view"
ASSIGNMENT_READ = "assignment.read"
READING_VIEW = "reading.view"
READING_AMEND = "reading.amend"
EXAM_VIEW = "exam.view"
RUN_VIEW = "run.view"
RUN_MANAGE = "run.manage"


def role_in(user, study) -> str | None:
    """The user's role in the study, or None."""
    if not user.is_authenticated or not user.is_active or study is None:
        return None
    study_id = getattr(study, "pk", study)
    return Membership.objects.filter(study_id=study_id, user_id=user.pk).values_list("role", flat=True).first()


def _has_role_anywhere(user, roles) -> bool:
    return user.is_authenticated and Membership.objects.filter(user_id=user.pk, role__in=roles).exists()


def _studies_with_role(user, roles):
    return Study.objects.filter(memberships__user_id=user.pk, memberships__role__in=roles)


# --- the rules -------------------------------------------------------------------------------

def _site_creator(user, obj=None) -> bool:
    return is_study_creator(user)


def _model_view(user, obj=None) -> bool:
    return is_study_creator(user) or _has_role_anywhere(user, ANALYSTS)


def _worklist(user, obj=None) -> bool:
    return _has_role_anywhere(user, (READER,))


def _analysis_index(user, obj=None) -> bool:
    return _has_role_anywhere(user, ANALYSTS)


def _audit_view(user, obj=None) -> bool:
    return user.is_superuser or _has_role_anywhere(user, (COORDINATOR,))


def _study_view(user, study) -> bool:
    return user.is_superuser or role_in(user, study) is not None


def _study_role(*roles):
    def rule(user, study) -> bool:
        return role_in(user, study) in roles
    return rule


def _study_unblind(user, study) -> bool:
    return role_in(user, study) == COORDINATOR and study.status == Study.Status.OPEN and not blinding.is_unblinded(study)


def _study_answers(user, study) -> bool:
    return role_in(user, study) in ANALYSTS and blinding.is_unblinded(study)


def _reading_set_view(user, reading_set) -> bool:
    return role_in(user, reading_set.study_id) in ANALYSTS


def _assignment_read(user, assignment) -> bool:
    return assignment.reader_id == user.pk and role_in(user, assignment.arm.study_id) == READER


def _assignment_view(user, assignment) -> bool:
    return _assignment_read(user, assignment) or role_in(user, assignment.arm.study_id) in ANALYSTS


def _reading_view(user, reading) -> bool:
    assignment = reading.assignment
    if assignment.reader_id == user.pk:
        return _assignment_read(user, assignment) and not sessions.is_locked(assignment)
    study = assignment.arm.study
    return reading.status == Reading.Status.SUBMITTED and _study_answers(user, study)


def _reading_amend(user, reading) -> bool:
    return _assignment_read(user, reading.assignment)


def _exam_view(user, exam) -> bool:
    if user.is_superuser:
        return True
    exam_id = getattr(exam, "pk", exam)
    in_own_study = ReadingSet.objects.filter(
        members__exam_id=exam_id, study__memberships__user_id=user.pk, study__memberships__role__in=ANALYSTS)
    if in_own_study.exists():
        return True
    return Assignment.objects.filter(reader_id=user.pk, reading_set__members__exam_id=exam_id,
                                     arm__study__memberships__user_id=user.pk,
                                     arm__study__memberships__role=READER).exists()


def _run_view(user, run) -> bool:
    return model_runs(user).filter(pk=run.pk).exists()


def _run_manage(user, run) -> bool:
    if user.is_superuser or (run.created_by_id is not None and run.created_by_id == user.pk):
        return True
    return Arm.objects.filter(model_run=run, study__in=_studies_with_role(user, (COORDINATOR,))).exists()


RULES = {
    STUDY_CREATE: _site_creator,
    EXAM_IMPORT: _site_creator,
    TRUTH_IMPORT: _site_creator,
    MODEL_REGISTER: _site_creator,
    ACCOUNTS_MANAGE: _site_creator,
    MODEL_VIEW: _model_view,
    WORKLIST: _worklist,
    ANALYSIS_INDEX: _analysis_index,
    AUDIT_VIEW: _audit_view,
    STUDY_VIEW: _study_view,
    STUDY_MANAGE: _study_role(COORDINATOR),
    STUDY_PROGRESS: _study_role(COORDINATOR),
    STUDY_AUDIT: _study_role(COORDINATOR),
    STUDY_TRUTH: _study_role(*ANALYSTS),
    STUDY_UNBLIND: _study_unblind,
    STUDY_ANSWERS: _study_answers,
    READING_SET_VIEW: _reading_set_view,
    ASSIGNMENT_VIEW: _assignment_view,
    ASSIGNMENT_READ: _assignment_read,
    READING_VIEW: _reading_view,
    READING_AMEND: _reading_amend,
    EXAM_VIEW: _exam_view,
    RUN_VIEW: _run_view,
    RUN_MANAGE: _run_manage,
}

MESSAGES = {
    STUDY_CREATE: "Only study creators may create studies.",
    EXAM_IMPORT: "Only study creators import exams.",
    TRUTH_IMPORT: "Only study creators import ground truth.",
    MODEL_REGISTER: "Only study creators register models.",
    ACCOUNTS_MANAGE: "Only study creators manage reader accounts.",
    MODEL_VIEW: "Models are for study creators and the coordinators and statisticians of a study.",
    WORKLIST: "Only readers of a study have a worklist.",
    ANALYSIS_INDEX: "Analysis is for the coordinators and statisticians of a study.",
    AUDIT_VIEW: "The audit trail is for coordinators and site administrators.",
    STUDY_MANAGE: "Only this study's coordinator may do this.",
    STUDY_PROGRESS: "Only this study's coordinator follows its progress.",
    STUDY_AUDIT: "Only this study's coordinator reads its audit trail.",
    STUDY_TRUTH: "Only this study's coordinator and statistician see its ground truth.",
    STUDY_UNBLIND: "Only this study's coordinator may unblind it, once, while it is open and blinded.",
    STUDY_ANSWERS: "Answers stay blinded until the study is closed or explicitly unblinded, and then only to its coordinator and statistician.",
    READING_SET_VIEW: "Only this study's coordinator and statistician see its reading sets.",
    READING_VIEW: "This reading is not visible to you (blinded, or a locked session).",
    EXAM_VIEW: "You may not see this exam.",
    RUN_VIEW: "You may not see this model run.",
    RUN_MANAGE: "Only the coordinator of a study that uses this run, or who started it, may change it.",
}


def can(user, action: str, obj=None) -> bool:
    """Whether `user` may do `action` on `obj` (None for site-level actions)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(RULES[action](user, obj))


def require(user, action: str, obj=None, *, hide: bool = False) -> None:
    """Raise PermissionDenied (or Http404 when `hide`: the object's existence is not the user's
    business) unless `can(user, action, obj)`."""
    if not can(user, action, obj):
        message = MESSAGES.get(action, "Permission denied.")
        raise Http404(message) if hide else PermissionDenied(message)


class PolicyBackend:
    """Django authentication backend answering `user.has_perm(action, obj)` from the policy, for
    the apps below the policy (exams). Other permission names are left to ModelBackend."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, perm, obj=None):
        if perm not in RULES:
            return False
        return can(user, perm, obj)


# --- what a user may see, as querysets -----------------------------------------------------------

def studies(user, action: str = STUDY_VIEW):
    """The studies on which `user` may do `action` (view, manage, answers...)."""
    if not user.is_authenticated:
        return Study.objects.none()
    if action == STUDY_VIEW:
        return Study.objects.all() if user.is_superuser else Study.objects.filter(memberships__user_id=user.pk).distinct()
    if action in (STUDY_MANAGE, STUDY_PROGRESS, STUDY_AUDIT):
        return _studies_with_role(user, (COORDINATOR,)).distinct()
    if action == STUDY_TRUTH:
        return _studies_with_role(user, ANALYSTS).distinct()
    if action == STUDY_ANSWERS:
        return blinding.unblinded(_studies_with_role(user, ANALYSTS)).distinct()
    raise ValueError(f"no study list for {action!r}")


def readings(user, queryset=None):
    """Readings whose values `user` may see: their own in sessions still open; submitted readings of
    unblinded studies for the study's coordinator and statistician."""
    queryset = Reading.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    own = Q(assignment__reader_id=user.pk, assignment__arm__study__memberships__user_id=user.pk,
            assignment__arm__study__memberships__role=READER) & ~Q(assignment_id__in=sessions.locked_assignment_ids(user))
    analysed = Q(status=Reading.Status.SUBMITTED, assignment__arm__study__in=studies(user, STUDY_ANSWERS))
    return queryset.filter(own | analysed).distinct()


def assignments(user, queryset=None):
    """A reader's own assignments, and every assignment of the studies the user coordinates or analyses."""
    queryset = Assignment.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    own = Q(reader_id=user.pk, arm__study__memberships__user_id=user.pk, arm__study__memberships__role=READER)
    return queryset.filter(own | Q(arm__study__in=studies(user, STUDY_TRUTH))).distinct()


def reading_sets(user, queryset=None):
    queryset = ReadingSet.objects.all() if queryset is None else queryset
    return queryset.filter(study__in=studies(user, STUDY_TRUTH))


def selectable_exams(user, queryset=None):
    """Imported exams a coordinator may put in a reading set: any, except those of studies in which
    the user reads (they would see those exams' ground truth)."""
    queryset = Exam.objects.all() if queryset is None else queryset
    read_here = ReadingSet.objects.filter(study__memberships__user_id=user.pk, study__memberships__role=READER)
    return queryset.exclude(reading_sets__in=read_here)


READING_ACTIONS = ("reading.",)


def audit_events(user, queryset=None):
    """Site administrators: every event; coordinators: their studies' events. Events that identify a
    reading (reader, exam, time) are left out while their study is blinded, for everyone."""
    queryset = AuditEvent.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if not user.is_superuser:
        queryset = queryset.filter(study_id__in=studies(user, STUDY_AUDIT).values("pk"))
    blinded = blinding.blinded(Study.objects.all()).values("pk")
    return queryset.exclude(Q(action__startswith="reading.") & Q(study_id__in=blinded))


def model_runs(user, queryset=None):
    """Runs the user started, and runs that an arm of a study they coordinate or analyse shows."""
    queryset = ModelRun.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    shown = Arm.objects.filter(study__in=studies(user, STUDY_TRUTH), model_run__isnull=False).values("model_run")
    return queryset.filter(Q(created_by_id=user.pk) | Q(pk__in=shown))


def model_versions(user, queryset=None):
    queryset = ModelVersion.objects.all() if queryset is None else queryset
    return queryset if can(user, MODEL_VIEW) else queryset.none()
