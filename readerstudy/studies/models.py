from django.conf import settings
from django.db import models
from django.db.models import Q

from readerstudy.exams.models import Exam


class Study(models.Model):
    class Unit(models.TextChoices):
        BREAST = "breast", "Breast"
        EXAM = "exam", "Exam"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class SequenceDesign(models.TextChoices):
        COUNTERBALANCED = "counterbalanced", "Counterbalanced crossover (readers randomised to unaided first or AI-aided first)"
        UNAIDED_FIRST = "unaided_first", "Fixed sequence (every reader unaided first; modality confounded with session order)"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.BREAST)
    washout_days = models.PositiveIntegerField(default=0, help_text="Days between the arms of a crossover.")
    allow_amendments = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    seed = models.BigIntegerField(default=0, help_text="Seed of every reader's case order in this study.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When the study was closed; answers are unblinded from then on.")
    sequence_design = models.CharField(max_length=16, choices=SequenceDesign.choices, default=SequenceDesign.COUNTERBALANCED)
    split_cases = models.BooleanField(
        default=False, help_text="Split each reading set into halves read in opposite modalities in each session.")
    hybrid_lambda = models.FloatField(
        default=0.5, help_text="Weight of the reader in the pre-specified hybrid score lam * reader + (1 - lam) * model.")
    protocol_version = models.PositiveIntegerField(
        default=0, help_text="0 while a draft; 1 when the study opens (protocol frozen); +1 per protocol amendment.")
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(condition=Q(hybrid_lambda__gte=0, hybrid_lambda__lte=1), name="hybrid_lambda_0_1"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class Membership(models.Model):
    """A user's one role in one study. One row per (study, user): nobody is both a reader and the
    coordinator or statistician of the same study (separation of duties, held by the database)."""

    class Role(models.TextChoices):
        COORDINATOR = "coordinator", "Coordinator"
        READER = "reader", "Reader"
        STATISTICIAN = "statistician", "Statistician"

    class Sequence(models.TextChoices):
        UNAIDED_FIRST = "unaided_first", "Unaided first"
        AIDED_FIRST = "aided_first", "AI-aided first"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=12, choices=Role.choices)
    sequence_group = models.CharField(
        max_length=16, choices=Sequence.choices, blank=True,
        help_text="Readers only: the randomised (seeded, stored) order of the modalities.")
    joined_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["study", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="one_role_per_user_per_study"),
            models.CheckConstraint(condition=Q(role__in=["coordinator", "reader", "statistician"]), name="membership_role_valid"),
            models.CheckConstraint(
                condition=Q(role="reader", sequence_group__in=["unaided_first", "aided_first"]) | (~Q(role="reader") & Q(sequence_group="")),
                name="sequence_group_for_readers_only"),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display().lower()}) in {self.study}"


class Unblinding(models.Model):
    """An explicit interim unblinding of an open study: who, when and why (shown on the study's page)."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="unblindings")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        ordering = ["study", "at"]

    def __str__(self):
        return f"interim unblinding of {self.study} by {self.by} on {self.at:%Y-%m-%d}"


class ProtocolAmendment(models.Model):
    """A change to an open study's frozen protocol: versioned, with who, when, why, old and new values."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="amendments")
    version = models.PositiveIntegerField(help_text="The protocol version this amendment creates.")
    changes = models.JSONField(help_text='{"field": {"old": ..., "new": ...}}')
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["study", "version"]
        constraints = [models.UniqueConstraint(fields=["study", "version"], name="one_amendment_per_version")]

    def __str__(self):
        return f"{self.study}: protocol version {self.version}"


class Arm(models.Model):
    class Kind(models.TextChoices):
        UNAIDED = "unaided", "Unaided"
        AI_AIDED = "ai_aided", "AI-aided"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="arms")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(default=0, help_text="Display order (unaided 0, AI-aided 1); each reader's session order follows their sequence group.")
    model_run = models.ForeignKey("predictions.ModelRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Model output shown in an AI-aided arm.")

    class Meta:
        ordering = ["study", "position"]
        constraints = [models.UniqueConstraint(fields=["study", "kind"], name="one_arm_per_kind")]

    def __str__(self):
        return f"{self.study.name}: {self.get_kind_display()}"


class ReadingSet(models.Model):
    """An ordered set of exams read by the readers of a study."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="reading_sets")
    name = models.CharField(max_length=200)
    exams = models.ManyToManyField(Exam, through="ReadingSetExam", related_name="reading_sets")
    selection = models.JSONField(default=dict, blank=True, help_text="How the exams were chosen (picked, filter, or stratified sample with its seed).")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["study", "name"]
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="unique_reading_set_name")]

    def __str__(self):
        return f"{self.study.name}: {self.name}"

    def exam_ids(self) -> list[int]:
        return list(self.members.order_by("position").values_list("exam_id", flat=True))


class ReadingSetExam(models.Model):
    reading_set = models.ForeignKey(ReadingSet, on_delete=models.CASCADE, related_name="members")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["reading_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["reading_set", "exam"], name="exam_once_per_reading_set"),
            models.UniqueConstraint(fields=["reading_set", "position"], name="unique_position_in_reading_set"),
        ]

    def __str__(self):
        return f"{self.reading_set}: exam {self.exam_id} at {self.position}"


class Assignment(models.Model):
    """A reader reads (part of) a reading set in one arm during one session, in the reader's own
    random order (stored, never re-derived). Sessions follow the reader's sequence group."""

    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    reading_set = models.ForeignKey(ReadingSet, on_delete=models.PROTECT, related_name="assignments")
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="assignments")
    case_order = models.JSONField(help_text="Exam ids in the order this reader reads them.")
    order_seed = models.BigIntegerField()
    session = models.PositiveSmallIntegerField(default=1, help_text="1 or 2: the reader's reading session (period) of this assignment.")
    opens_at = models.DateTimeField(null=True, blank=True, help_text="Not readable before this time.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["reader", "session", "arm__position", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["reader", "reading_set", "arm", "session"], name="one_assignment_per_reader_set_arm_session"),
            models.CheckConstraint(condition=Q(session__in=[1, 2]), name="assignment_session_1_or_2"),
        ]

    def __str__(self):
        return f"{self.reader} / {self.reading_set.name} / {self.arm.get_kind_display()}"

    @property
    def study(self):
        return self.arm.study

    @property
    def study_id(self):
        return self.arm.study_id


PROBABILITY_RANGE = Q(left_probability__gte=0, left_probability__lte=100) | Q(left_probability__isnull=True)
RIGHT_PROBABILITY_RANGE = Q(right_probability__gte=0, right_probability__lte=100) | Q(right_probability__isnull=True)
BIRADS_RANGE = Q(left_birads__gte=0, left_birads__lte=6) | Q(left_birads__isnull=True)
RIGHT_BIRADS_RANGE = Q(right_birads__gte=0, right_birads__lte=6) | Q(right_birads__isnull=True)
SUBMITTED_COMPLETE = ~Q(status="submitted") | Q(
    left_probability__isnull=False, right_probability__isnull=False,
    left_birads__isnull=False, right_birads__isnull=False, submitted_at__isnull=False,
)


class Reading(models.Model):
    """A reader's answer for one exam: per breast a probability of malignancy (0-100 %) and a BI-RADS category."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="readings")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="readings")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    left_probability = models.FloatField(null=True, blank=True)
    right_probability = models.FloatField(null=True, blank=True)
    left_birads = models.PositiveSmallIntegerField(null=True, blank=True)
    right_birads = models.PositiveSmallIntegerField(null=True, blank=True)
    first_shown_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True, help_text="From first display to submit.")
    client_key = models.CharField(max_length=64, null=True, blank=True, unique=True, help_text="Idempotency key of the submission.")
    revision = models.PositiveIntegerField(default=0, help_text="Number of amendments after the first submission.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["assignment", "exam"]
        constraints = [
            # Also rules out a second submitted reading: amendments keep the row and append a revision.
            models.UniqueConstraint(fields=["assignment", "exam"], name="one_reading_per_assignment_exam"),
            models.CheckConstraint(condition=Q(status__in=["draft", "submitted"]), name="reading_status_valid"),
            models.CheckConstraint(condition=PROBABILITY_RANGE, name="left_probability_0_100"),
            models.CheckConstraint(condition=RIGHT_PROBABILITY_RANGE, name="right_probability_0_100"),
            models.CheckConstraint(condition=BIRADS_RANGE, name="left_birads_0_6"),
            models.CheckConstraint(condition=RIGHT_BIRADS_RANGE, name="right_birads_0_6"),
            models.CheckConstraint(condition=SUBMITTED_COMPLETE, name="submitted_reading_complete"),
        ]

    def __str__(self):
        return f"{self.assignment.reader} {self.exam.label} ({self.status})"


class ReadingRevision(models.Model):
    """Append-only history of a reading: the first submission and every amendment, with its reason."""

    reading = models.ForeignKey(Reading, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    left_probability = models.FloatField()
    right_probability = models.FloatField()
    left_birads = models.PositiveSmallIntegerField()
    right_birads = models.PositiveSmallIntegerField()
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["reading", "number"]
        constraints = [
            models.UniqueConstraint(fields=["reading", "number"], name="unique_revision_number"),
            models.CheckConstraint(condition=Q(left_probability__gte=0, left_probability__lte=100, right_probability__gte=0, right_probability__lte=100), name="revision_probability_0_100"),
            models.CheckConstraint(condition=Q(left_birads__lte=6, right_birads__lte=6), name="revision_birads_0_6"),
        ]

    def __str__(self):
        return f"reading {self.reading_id}, revision {self.number}"
