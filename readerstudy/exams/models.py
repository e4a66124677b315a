from django.conf import settings
from django.db import models
from django.utils import timezone

VIEWS = ("L-CC", "R-CC", "L-MLO", "R-MLO")
SIDES = ("L", "R")


class Exam(models.Model):
    """One screening exam: up to four standard views of one patient on one date (de-identified)."""

    class Source(models.TextChoices):
        DICOM = "dicom", "DICOM"
        PNG = "png", "16-bit PNG"

    label = models.CharField(max_length=64, unique=True, help_text="De-identified exam identifier shown to users.")
    study_instance_uid = models.CharField(max_length=64, blank=True, help_text="De-identified (remapped) Study Instance UID.")
    source = models.CharField(max_length=8, choices=Source.choices)
    pseudo_patient_id = models.CharField(max_length=64, blank=True)
    attributes = models.JSONField(default=dict, blank=True, help_text="Subgroup attributes such as density or age band.")
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["label"]

    def __str__(self):
        return self.label


class Image(models.Model):
    """One view of an exam: the stored file, its geometry and display parameters, and its derivatives."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="images")
    view = models.CharField(max_length=5, choices=[(v, v) for v in VIEWS])
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    bits_stored = models.PositiveSmallIntegerField()
    photometric_interpretation = models.CharField(max_length=16, default="MONOCHROME2")
    rescale_slope = models.FloatField(default=1.0)
    rescale_intercept = models.FloatField(default=0.0)
    windows = models.JSONField(default=list, blank=True, help_text="Window center/width pairs from the file.")
    voi_lut_function = models.CharField(max_length=16, default="LINEAR")
    voi_lut = models.JSONField(null=True, blank=True)
    pixel_spacing = models.JSONField(null=True, blank=True, help_text="[row, column] spacing in mm.")
    patient_orientation = models.CharField(max_length=16, blank=True)
    flip_horizontal = models.BooleanField(default=False, help_text="Mirror for display so the chest wall is on the hanging-protocol side.")
    source_file = models.FileField(max_length=255, upload_to="images/")
    pixels_file = models.FileField(max_length=255, upload_to="derivatives/")
    preview_file = models.FileField(max_length=255, upload_to="derivatives/")
    checksum = models.CharField(
        max_length=72, blank=True,
        help_text="Of the stored copy, to detect storage corruption: 'crc32:<8 hex digits>' (ISA-L's CRC-32, "
                  "2 ms for a 27 MB mammogram where SHA-256 took 17); imports before 2026-11-27: 'sha256:<64>'.")
    pixel_min = models.IntegerField(default=0)
    pixel_max = models.IntegerField(default=0)

    class Meta:
        ordering = ["exam", "view"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "view"], name="one_image_per_exam_view"),
            models.CheckConstraint(condition=models.Q(view__in=VIEWS), name="image_view_is_standard"),
        ]

    def __str__(self):
        return f"{self.exam.label} {self.view}"

    @property
    def laterality(self) -> str:
        return self.view[0]


class AppendOnlyError(RuntimeError):
    """Ground-truth history is append-only: versions and revisions are never changed or deleted."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} cannot be updated")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} cannot be deleted")


class AppendOnlyModel(models.Model):
    """Rows are inserted once, never saved again nor deleted through the ORM's instance or queryset API."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name_plural} cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.verbose_name_plural} cannot be deleted")


class TruthVersion(AppendOnlyModel):
    """One ground-truth import that changed something: numbered 1, 2, 3, ... in the order of the
    imports. An analysis names the truth version it used (`readerstudy.exams.truth.truth_as_of`)."""

    number = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_username = models.CharField(max_length=150, blank=True, help_text="Kept if the account is deleted.")
    source = models.CharField(max_length=255, blank=True, help_text="The imported file's name, or what made this version.")
    reason = models.TextField(blank=True)
    breasts_added = models.PositiveIntegerField(default=0, help_text="Breasts that had no truth before.")
    breasts_changed = models.PositiveIntegerField(default=0, help_text="Breasts whose truth had another value before.")
    breasts_unchanged = models.PositiveIntegerField(default=0, help_text="Breasts in the file with the same value as before.")

    class Meta:
        ordering = ["-number"]
        constraints = [models.CheckConstraint(condition=models.Q(number__gte=1), name="truth_version_number_positive")]

    def __str__(self):
        return f"ground truth v{self.number}"

    @property
    def breasts_revised(self) -> int:
        """Added and changed breasts: the number of revisions of this version."""
        return self.breasts_added + self.breasts_changed


class BreastTruthRevision(AppendOnlyModel):
    """The value one truth version gave one breast, with the value it replaced (append-only).

    `malignant`, `benign` and `source` are the new value; `previous_malignant`, `previous_benign`
    and `previous_source` the value before this version, all three NULL when the breast had no
    truth before. Breasts an import left as they were get no revision."""

    version = models.ForeignKey(TruthVersion, on_delete=models.PROTECT, related_name="revisions")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="truth_revisions")
    side = models.CharField(max_length=1, choices=[("L", "left"), ("R", "right")])
    malignant = models.BooleanField()
    benign = models.BooleanField()
    source = models.CharField(max_length=128, blank=True)
    previous_malignant = models.BooleanField(null=True, blank=True)
    previous_benign = models.BooleanField(null=True, blank=True)
    previous_source = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 -- None: the breast had no truth before

    class Meta:
        ordering = ["version", "exam", "side"]
        constraints = [
            models.UniqueConstraint(fields=["version", "exam", "side"], name="one_revision_per_breast_per_truth_version"),
            models.CheckConstraint(condition=models.Q(side__in=SIDES), name="truth_revision_side_is_l_or_r"),
        ]

    def __str__(self):
        return f"v{self.version.number} {self.exam.label} {self.side}"

    @property
    def is_new(self) -> bool:
        return self.previous_malignant is None


class BreastTruth(models.Model):
    """The current ground truth for one breast of an exam; its history is in BreastTruthRevision."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="truths")
    side = models.CharField(max_length=1, choices=[("L", "left"), ("R", "right")])
    malignant = models.BooleanField()
    benign = models.BooleanField()
    source = models.CharField(max_length=128, blank=True, help_text="Where the truth comes from, e.g. biopsy or follow-up.")
    version = models.ForeignKey(
        TruthVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The truth version that last set this value (empty: set outside the versioned import).")

    class Meta:
        ordering = ["exam", "side"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "side"], name="one_truth_per_breast"),
            models.CheckConstraint(condition=models.Q(side__in=SIDES), name="truth_side_is_l_or_r"),
        ]

    def __str__(self):
        return f"{self.exam.label} {self.side}: {'malignant' if self.malignant else 'benign' if self.benign else 'negative'}"


class IdentifierMap(models.Model):
    """Original identifiers of a de-identified exam: coordinator-only, optional (INGEST_KEEP_IDENTIFIER_MAP)."""

    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="identifier_map")
    original_patient_id = models.CharField(max_length=128, blank=True)
    original_patient_name = models.CharField(max_length=256, blank=True)
    original_study_instance_uid = models.CharField(max_length=64, blank=True)
    original_accession_number = models.CharField(max_length=64, blank=True)
    date_offset_days = models.IntegerField(default=0)

    def __str__(self):
        return f"identifiers of {self.exam.label}"
