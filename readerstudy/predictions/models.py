from django.conf import settings
from django.db import models
from django.db.models import Q

from readerstudy.exams.models import Exam

UNIT_INTERVAL = ("left_benign", "right_benign", "left_malignant", "right_malignant")


class ModelVersion(models.Model):
    """A registered classifier: weights file, its sha256, and what it is."""

    class Variant(models.TextChoices):
        IMAGE_ONLY = "image_only", "View-wise, image only"
        IMAGE_HEATMAPS = "image_heatmaps", "View-wise, image and heatmaps"

    name = models.CharField(max_length=200, unique=True)
    variant = models.CharField(max_length=16, choices=Variant.choices)
    weights_file = models.CharField(max_length=500, help_text="Path of the weights file on the workers' shared storage.")
    heatmap_weights_file = models.CharField(max_length=500, blank=True, help_text="Patch model for the image+heatmaps variant.")
    sha256 = models.CharField(max_length=64)
    demonstration = models.BooleanField(default=False, help_text="A demonstration model, not a diagnostic one.")
    notes = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True, help_text="What the weights file says about itself (architecture, version, input size).")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}{' (demonstration)' if self.demonstration else ''}"


class ModelRun(models.Model):
    """A run of a registered model over a list of exams (one ModelRunItem per exam). Runs know
    nothing of studies: a study's AI-aided arm points at a run (`studies.Arm.model_run`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Finished with failures"
        CANCELLED = "cancelled", "Cancelled"

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="runs")
    description = models.CharField(max_length=500, blank=True, help_text='What the exams are, e.g. "Demo study / Demo reading set".')
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    options = models.JSONField(default=dict, blank=True, help_text="tta, seed, device and other classifier options.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker began the first exam.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"run {self.pk} of {self.model_version.name}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)


class ModelRunItem(models.Model):
    """The state of one exam within a run: what the worker did with it and why it failed."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    UNFINISHED = (State.PENDING, State.RUNNING)

    run = models.ForeignKey(ModelRun, on_delete=models.CASCADE, related_name="items")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When the item reached done or failed (for exams per minute).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "exam"]
        constraints = [models.UniqueConstraint(fields=["run", "exam"], name="one_item_per_run_exam")]
        indexes = [models.Index(fields=["run", "state"], name="run_item_state")]

    def __str__(self):
        return f"run {self.run_id}, exam {self.exam_id}: {self.state}"


class Prediction(models.Model):
    """The model's probabilities for one exam: left/right x benign/malignant, in [0, 1]."""

    run = models.ForeignKey(ModelRun, on_delete=models.CASCADE, related_name="predictions")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="predictions")
    left_benign = models.FloatField()
    right_benign = models.FloatField()
    left_malignant = models.FloatField()
    right_malignant = models.FloatField()
    heatmaps = models.JSONField(default=dict, blank=True, help_text="View -> stored heatmap files (AI-aided arm overlays).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "exam"]
        constraints = [models.UniqueConstraint(fields=["run", "exam"], name="one_prediction_per_run_exam")] + [
            models.CheckConstraint(condition=Q(**{f"{f}__gte": 0, f"{f}__lte": 1}), name=f"prediction_{f}_0_1") for f in UNIT_INTERVAL
        ]

    def __str__(self):
        return f"run {self.run_id}, exam {self.exam_id}"
