"""API representations. Writes go through the studies services; serializers describe and type the input."""
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from readerstudy.audit.models import AuditEvent
from readerstudy.exams.models import Exam
from readerstudy.studies import crossover, sampling
from readerstudy.studies.models import Arm, Assignment, Reading, ReadingRevision, ReadingSet, Study


class ArmSerializer(serializers.ModelSerializer):
    class Meta:
        model = Arm
        fields = ["id", "study", "kind", "position", "model_run"]
        read_only_fields = ["study", "kind"]


class StudySerializer(serializers.ModelSerializer):
    arms = ArmSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**62, help_text="Seed of the readers' case orders; random when omitted.")

    class Meta:
        model = Study
        fields = ["id", "name", "description", "unit", "washout_days", "allow_amendments", "seed", "status", "created_at", "created_by", "closed_at", "arms"]
        read_only_fields = ["status", "created_at", "created_by", "closed_at"]
        # Uniqueness is checked by the service, inside its transaction.
        extra_kwargs = {"name": {"validators": []}}


class ReadingSetSerializer(serializers.ModelSerializer):
    exams = serializers.SerializerMethodField()
    assigned = serializers.SerializerMethodField()

    class Meta:
        model = ReadingSet
        fields = ["id", "study", "name", "exams", "selection", "assigned", "created_at"]
        read_only_fields = fields

    def get_exams(self, reading_set) -> list[int]:
        return reading_set.exam_ids()

    def get_assigned(self, reading_set) -> bool:
        return reading_set.assignments.exists()


class ReadingSetCreateSerializer(serializers.Serializer):
    study = serializers.PrimaryKeyRelatedField(queryset=Study.objects.all())
    name = serializers.CharField(max_length=200)
    exams = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, help_text="Exam ids in set order.")


class ExamFilterSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Exam.Source.choices, required=False, allow_blank=True)
    stratum = serializers.ChoiceField(choices=sampling.STRATA, required=False, allow_blank=True)
    attribute = serializers.CharField(required=False, allow_blank=True, help_text='"key=value" on the exam attributes.')


class ReadingSetSampleSerializer(serializers.Serializer):
    study = serializers.PrimaryKeyRelatedField(queryset=Study.objects.all())
    name = serializers.CharField(max_length=200)
    size = serializers.IntegerField(min_value=1, required=False, help_text="Total size, split in proportion to the strata.")
    per_stratum = serializers.DictField(child=serializers.IntegerField(min_value=0), required=False, help_text="Explicit counts per stratum.")
    seed = serializers.IntegerField(min_value=0, required=False)
    filters = ExamFilterSerializer(required=False)

    def validate(self, data):
        if ("size" in data) == ("per_stratum" in data):
            raise serializers.ValidationError("Give either size or per_stratum.")
        return data


class ExamIdsSerializer(serializers.Serializer):
    exams = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False)


class ArmStatusSerializer(serializers.Serializer):
    is_open = serializers.BooleanField()
    opens_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class AssignmentSerializer(serializers.ModelSerializer):
    reader_username = serializers.CharField(source="reader.username", read_only=True)
    study = serializers.IntegerField(source="arm.study_id", read_only=True)
    arm_kind = serializers.CharField(source="arm.kind", read_only=True)
    submitted = serializers.SerializerMethodField()
    arm_status = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "reader", "reader_username", "study", "reading_set", "arm", "arm_kind", "case_order", "order_seed", "opens_at", "submitted", "arm_status", "created_at"]
        read_only_fields = fields

    def get_submitted(self, assignment) -> int:
        return assignment.readings.filter(status=Reading.Status.SUBMITTED).count()

    @extend_schema_field(ArmStatusSerializer)
    def get_arm_status(self, assignment) -> dict:
        return crossover.arm_status(assignment)._asdict()


class AssignmentCreateSerializer(serializers.Serializer):
    reader = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    reading_set = serializers.PrimaryKeyRelatedField(queryset=ReadingSet.objects.select_related("study"))
    arm = serializers.PrimaryKeyRelatedField(queryset=Arm.objects.select_related("study"))
    opens_at = serializers.DateTimeField(required=False, allow_null=True)


class AnswersSerializer(serializers.Serializer):
    left_probability = serializers.FloatField(min_value=0, max_value=100)
    right_probability = serializers.FloatField(min_value=0, max_value=100)
    left_birads = serializers.IntegerField(min_value=0, max_value=6)
    right_birads = serializers.IntegerField(min_value=0, max_value=6)


class ReadingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reading
        fields = ["id", "assignment", "exam", "status", "left_probability", "right_probability", "left_birads", "right_birads", "first_shown_at", "submitted_at", "duration_ms", "revision", "client_key"]
        read_only_fields = fields


class ReadingOpenSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    exam = serializers.IntegerField()


class ReadingSubmitSerializer(AnswersSerializer):
    assignment = serializers.IntegerField()
    exam = serializers.IntegerField()
    client_key = serializers.CharField(max_length=64, help_text="Idempotency key: a retry with the same key returns the stored reading.")


class AmendSerializer(AnswersSerializer):
    reason = serializers.CharField(max_length=2000)


class RevisionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ReadingRevision
        fields = ["number", "left_probability", "right_probability", "left_birads", "right_birads", "reason", "created_at", "created_by"]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "actor_username", "action", "object_type", "object_id", "study_id", "details", "ip_address"]
        read_only_fields = fields


class ReaderSerializer(serializers.ModelSerializer):
    has_password = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "is_active", "has_password"]
        read_only_fields = ["id", "is_active", "has_password"]
        extra_kwargs = {"username": {"validators": []}}

    def get_has_password(self, user) -> bool:
        return user.has_usable_password()


class InvitationSerializer(serializers.Serializer):
    reader = ReaderSerializer()
    set_password_link = serializers.CharField(help_text="One-time link; hand it to the reader.")
