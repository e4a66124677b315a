"""Model versions, runs and predictions are read-only in the admin: they are study-critical (an
AI-aided arm shows a run's predictions), so they change only through the services (registry.py,
runs.py, the tasks) and the audit trail."""
from django.contrib import admin

from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion, Prediction


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("name", "variant", "demonstration", "sha256", "created_at")
    search_fields = ("name", "sha256")


class ModelRunItemInline(admin.TabularInline):
    model = ModelRunItem
    fields = ("exam", "state", "attempts", "error", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelRun)
class ModelRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "model_version", "description", "status", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("description", "model_version__name")
    inlines = [ModelRunItemInline]


@admin.register(ModelRunItem)
class ModelRunItemAdmin(ReadOnlyAdmin):
    list_display = ("run", "exam", "state", "attempts", "error", "finished_at")
    list_filter = ("state",)
    search_fields = ("exam__label", "error")


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ("run", "exam", "left_malignant", "right_malignant", "left_benign", "right_benign")
    list_filter = ("run",)
    search_fields = ("exam__label",)
