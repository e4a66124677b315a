"""Studies in the admin: shown, never added, changed or deleted there. Every change goes through
the services (readerstudy.studies.lifecycle, memberships, assignments, reading_sets, submission,
amendments), which keep the protocol rules and write the audit trail.

Readers' answers (probabilities, BI-RADS) are left out of the pages while their study is blinded:
nobody, site administrators included, sees a number derived from answers before unblinding."""
from django.contrib import admin

from readerstudy.audit.admin import ReadOnlyAdmin, ReadOnlyInline
from readerstudy.studies.blinding import is_unblinded
from readerstudy.studies.models import (
    Arm,
    Assignment,
    Membership,
    ProtocolAmendment,
    Reading,
    ReadingRevision,
    ReadingSet,
    ReadingSetExam,
    Study,
    Unblinding,
)

ANSWER_FIELDS = ("left_probability", "right_probability", "left_birads", "right_birads")


def _without_answers(fields, study) -> list[str]:
    if study is None or is_unblinded(study):
        return list(fields)
    return [name for name in fields if name not in ANSWER_FIELDS]


class ArmInline(ReadOnlyInline):
    model = Arm


class MembershipInline(ReadOnlyInline):
    model = Membership
    fk_name = "study"


class UnblindingInline(ReadOnlyInline):
    model = Unblinding


class AmendmentInline(ReadOnlyInline):
    model = ProtocolAmendment


@admin.register(Study)
class StudyAdmin(ReadOnlyAdmin):
    list_display = ("name", "unit", "status", "sequence_design", "protocol_version", "washout_days", "created_at")
    list_filter = ("status", "sequence_design")
    search_fields = ("name",)
    inlines = [ArmInline, MembershipInline, UnblindingInline, AmendmentInline]


@admin.register(Arm)
class ArmAdmin(ReadOnlyAdmin):
    list_display = ("study", "kind", "position", "model_run")
    list_filter = ("kind",)
    list_select_related = ("study",)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("study", "user", "role", "sequence_group", "joined_at")
    list_filter = ("role", "sequence_group")
    search_fields = ("study__name", "user__username")
    list_select_related = ("study", "user")


@admin.register(Unblinding)
class UnblindingAdmin(ReadOnlyAdmin):
    list_display = ("study", "by", "at", "reason")
    list_select_related = ("study", "by")


@admin.register(ProtocolAmendment)
class ProtocolAmendmentAdmin(ReadOnlyAdmin):
    list_display = ("study", "version", "by", "at", "reason")
    list_select_related = ("study", "by")


class MemberInline(ReadOnlyInline):
    model = ReadingSetExam


@admin.register(ReadingSet)
class ReadingSetAdmin(ReadOnlyAdmin):
    list_display = ("name", "study", "created_at")
    inlines = [MemberInline]


@admin.register(ReadingSetExam)
class ReadingSetExamAdmin(ReadOnlyAdmin):
    list_display = ("reading_set", "position", "exam")
    list_select_related = ("reading_set__study", "exam")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("reader", "reading_set", "arm", "session", "opens_at")
    list_select_related = ("reader", "reading_set__study", "arm__study")


class RevisionInline(ReadOnlyInline):
    model = ReadingRevision
    fields = ("number", *ANSWER_FIELDS, "reason", "created_at", "created_by")

    def get_fields(self, request, obj=None):
        return _without_answers(super().get_fields(request, obj), obj.assignment.arm.study if obj else None)


@admin.register(Reading)
class ReadingAdmin(ReadOnlyAdmin):
    """Readings are shown, never edited here: a change goes through an audited amendment by its reader."""

    list_display = ("assignment", "exam", "status", "submitted_at")
    list_filter = ("status",)
    list_select_related = ("assignment__reader", "assignment__reading_set__study", "assignment__arm", "exam")
    inlines = [RevisionInline]

    def get_fields(self, request, obj=None):
        return _without_answers(super().get_fields(request, obj), obj.assignment.arm.study if obj else None)


@admin.register(ReadingRevision)
class ReadingRevisionAdmin(ReadOnlyAdmin):
    list_display = ("reading", "number", "created_at", "created_by")
    list_select_related = ("reading__assignment__reader", "reading__assignment__reading_set__study",
                           "reading__assignment__arm", "reading__exam", "created_by")

    def get_fields(self, request, obj=None):
        return _without_answers(super().get_fields(request, obj), obj.reading.assignment.arm.study if obj else None)
