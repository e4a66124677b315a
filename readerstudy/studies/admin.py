from django.contrib import admin

from readerstudy.studies.models import Arm, Assignment, Reading, ReadingRevision, ReadingSet, ReadingSetExam, Study


class ArmInline(admin.TabularInline):
    model = Arm
    extra = 0


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ("name", "unit", "status", "washout_days", "created_at")
    inlines = [ArmInline]


class MemberInline(admin.TabularInline):
    model = ReadingSetExam
    extra = 0


@admin.register(ReadingSet)
class ReadingSetAdmin(admin.ModelAdmin):
    list_display = ("name", "study")
    inlines = [MemberInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("reader", "reading_set", "arm", "opens_at")
    readonly_fields = ("case_order", "order_seed")


class RevisionInline(admin.TabularInline):
    model = ReadingRevision
    extra = 0
    can_delete = False
    readonly_fields = ("number", "left_probability", "right_probability", "left_birads", "right_birads", "reason", "created_at", "created_by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Reading)
class ReadingAdmin(admin.ModelAdmin):
    """Readings are shown, never edited here: a change goes through an audited amendment by its reader."""

    list_display = ("assignment", "exam", "status", "submitted_at")
    list_filter = ("status",)
    inlines = [RevisionInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Reading._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
