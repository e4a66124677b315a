from django.contrib import admin

from readerstudy.accounts import roles
from readerstudy.exams.models import BreastTruth, Exam, IdentifierMap, Image


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    fields = ("view", "rows", "columns", "bits_stored", "photometric_interpretation", "flip_horizontal")
    readonly_fields = fields
    can_delete = False


class TruthInline(admin.TabularInline):
    model = BreastTruth
    extra = 0


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ("label", "source", "image_count", "imported_at", "imported_by")
    list_filter = ("source",)
    search_fields = ("label",)
    readonly_fields = ("label", "study_instance_uid", "source", "pseudo_patient_id", "imported_at", "imported_by")
    inlines = [ImageInline, TruthInline]

    @admin.display(description="images")
    def image_count(self, exam):
        return exam.images.count()


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    """Images are made by the import path only: their files and derivatives must stay consistent."""

    list_display = ("exam", "view", "rows", "columns", "bits_stored", "flip_horizontal")
    list_filter = ("view", "photometric_interpretation")
    search_fields = ("exam__label",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BreastTruth)
class BreastTruthAdmin(admin.ModelAdmin):
    list_display = ("exam", "side", "malignant", "benign", "source")
    list_filter = ("side", "malignant", "benign")
    search_fields = ("exam__label",)


@admin.register(IdentifierMap)
class IdentifierMapAdmin(admin.ModelAdmin):
    """Original identifiers: coordinators (and superusers) only, and never edited by hand."""

    list_display = ("exam", "original_patient_id", "original_accession_number", "date_offset_days")
    search_fields = ("exam__label", "original_patient_id", "original_accession_number")

    def _allowed(self, request) -> bool:
        return request.user.is_superuser or roles.is_coordinator(request.user)

    def has_module_permission(self, request):
        return self._allowed(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
