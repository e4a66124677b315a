from django.contrib import admin

from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion, Prediction


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "variant", "demonstration", "sha256", "created_at")
    # What describes the weights is read from the file at registration; editing it here would lie.
    readonly_fields = ("variant", "sha256", "demonstration", "metadata", "weights_file", "heatmap_weights_file", "created_by", "created_at")


class ModelRunItemInline(admin.TabularInline):
    model = ModelRunItem
    fields = ("exam", "state", "attempts", "error", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(ModelRun)
class ModelRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "model_version", "study", "reading_set", "status", "created_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = ("model_version", "study", "reading_set", "options", "created_by", "created_at", "started_at", "finished_at")
    inlines = [ModelRunItemInline]


@admin.register(ModelRunItem)
class ModelRunItemAdmin(admin.ModelAdmin):
    list_display = ("run", "exam", "state", "attempts", "error", "finished_at")
    list_filter = ("state",)
    search_fields = ("exam__label", "error")


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("run", "exam", "left_malignant", "right_malignant", "left_benign", "right_benign")
    list_filter = ("run",)
    search_fields = ("exam__label",)
