from django.contrib import admin

from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion, Prediction


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "variant", "demonstration", "sha256", "created_at")


@admin.register(ModelRun)
class ModelRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "model_version", "study", "reading_set", "status", "created_at")
    list_filter = ("status",)


@admin.register(ModelRunItem)
class ModelRunItemAdmin(admin.ModelAdmin):
    list_display = ("run", "exam", "state", "attempts")
    list_filter = ("state",)


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("run", "exam", "left_malignant", "right_malignant")
