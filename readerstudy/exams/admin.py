from django.contrib import admin

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
    list_display = ("label", "source", "imported_at")
    search_fields = ("label",)
    inlines = [ImageInline, TruthInline]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("exam", "view", "rows", "columns", "bits_stored")
    list_filter = ("view",)


@admin.register(BreastTruth)
class BreastTruthAdmin(admin.ModelAdmin):
    list_display = ("exam", "side", "malignant", "benign", "source")


@admin.register(IdentifierMap)
class IdentifierMapAdmin(admin.ModelAdmin):
    list_display = ("exam", "original_patient_id")
