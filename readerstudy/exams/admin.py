"""Exams, images, ground truth and its history, identifier maps: shown in the admin, never edited
there. Exams and images come from the import path (files and derivatives stay consistent), truth
from the versioned truth import (readerstudy.exams.truth), which keeps the history and audits."""
from django.contrib import admin

from readerstudy.audit.admin import ReadOnlyAdmin, ReadOnlyInline
from readerstudy.exams.models import BreastTruth, BreastTruthRevision, Exam, IdentifierMap, Image, TruthVersion


class ImageInline(ReadOnlyInline):
    model = Image
    fields = ("view", "rows", "columns", "bits_stored", "photometric_interpretation", "flip_horizontal")
    readonly_fields = fields


class TruthInline(ReadOnlyInline):
    model = BreastTruth
    fields = ("side", "malignant", "benign", "source", "version")
    readonly_fields = fields


@admin.register(Exam)
class ExamAdmin(ReadOnlyAdmin):
    list_display = ("label", "source", "image_count", "imported_at", "imported_by")
    list_filter = ("source",)
    search_fields = ("label",)
    inlines = [ImageInline, TruthInline]

    @admin.display(description="images")
    def image_count(self, exam):
        return exam.images.count()


@admin.register(Image)
class ImageAdmin(ReadOnlyAdmin):
    list_display = ("exam", "view", "rows", "columns", "bits_stored", "flip_horizontal")
    list_filter = ("view", "photometric_interpretation")
    search_fields = ("exam__label",)


@admin.register(BreastTruth)
class BreastTruthAdmin(ReadOnlyAdmin):
    list_display = ("exam", "side", "malignant", "benign", "source", "version")
    list_filter = ("side", "malignant", "benign")
    search_fields = ("exam__label",)


class RevisionInline(ReadOnlyInline):
    model = BreastTruthRevision
    fields = ("exam", "side", "previous_malignant", "previous_benign", "previous_source", "malignant", "benign", "source")
    readonly_fields = fields


@admin.register(TruthVersion)
class TruthVersionAdmin(ReadOnlyAdmin):
    list_display = ("number", "created_at", "created_by_username", "source", "reason",
                    "breasts_added", "breasts_changed", "breasts_unchanged")
    search_fields = ("source", "reason", "created_by_username")
    inlines = [RevisionInline]


@admin.register(BreastTruthRevision)
class BreastTruthRevisionAdmin(ReadOnlyAdmin):
    list_display = ("version", "exam", "side", "previous_malignant", "malignant", "previous_benign", "benign", "source")
    list_filter = ("side", "malignant")
    search_fields = ("exam__label",)
    list_select_related = ("version", "exam")


@admin.register(IdentifierMap)
class IdentifierMapAdmin(ReadOnlyAdmin):
    """Original identifiers: site administrators only."""

    list_display = ("exam", "original_patient_id", "original_accession_number", "date_offset_days")
    search_fields = ("exam__label", "original_patient_id", "original_accession_number")

    def _allowed(self, request) -> bool:
        return request.user.is_superuser

    def has_module_permission(self, request):
        return self._allowed(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request) and super().has_view_permission(request, obj)
