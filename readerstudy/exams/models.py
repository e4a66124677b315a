from django.conf import settings
from django.db import models

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

    @property
    def laterality(self) -> str:
        return self.view[0]

    def __str__(self):
        return f"{self.exam.label} {self.view}"


class BreastTruth(models.Model):
    """Ground truth for one breast of an exam."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="truths")
    side = models.CharField(max_length=1, choices=[("L", "left"), ("R", "right")])
    malignant = models.BooleanField()
    benign = models.BooleanField()
    source = models.CharField(max_length=128, blank=True, help_text="Where the truth comes from, e.g. biopsy or follow-up.")

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
