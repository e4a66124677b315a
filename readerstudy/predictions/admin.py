"""Model versions, runs and predictions are read-only in the admin: they are study-critical (an
AI-aided arm shows a run's predictions), so they change only through the services (registry.py,
runs.py, the tasks) and the audit trail."""
from django.contrib import admin

from readerstudy.audit.admin import ReadOnlyAdmin, ReadOnlyInline
from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion, Prediction


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("name", "variant", "demonstration", "sha256", "created_at")
    search_fields = ("name", "sha256")


class ModelRunItemInline(ReadOnlyInline):
    model = ModelRunItem
    fields = ("exam", "state", "attempts", "error", "finished_at")


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
