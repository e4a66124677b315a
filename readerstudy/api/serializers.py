"""API representations. Writes go through the studies services; serializers describe and type the input."""
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from readerstudy.access import policy
from readerstudy.audit.models import AuditEvent
from readerstudy.exams.models import Exam
from readerstudy.predictions.models import ModelRun
from readerstudy.studies import sampling, sessions
from readerstudy.studies.models import Arm, Assignment, Membership, ProtocolAmendment, Reading, ReadingRevision, ReadingSet, Study, Unblinding


class ArmSerializer(serializers.ModelSerializer):
    class Meta:
        model = Arm
        fields = ["id", "study", "kind", "model_run"]
        read_only_fields = fields


class ArmUpdateSerializer(serializers.Serializer):
    model_run = serializers.PrimaryKeyRelatedField(queryset=ModelRun.objects.all(), help_text="A completed run covering every exam of the study.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text="Required once the study is open (a protocol amendment).")

    def validate_model_run(self, run):
        request = self.context["request"]
        if not policy.can(request.user, policy.RUN_VIEW, run):
            raise serializers.ValidationError("No such model run.")
        return run


class AmendmentSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ProtocolAmendment
        fields = ["version", "changes", "reason", "by", "at"]
        read_only_fields = fields


class UnblindingSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Unblinding
        fields = ["by", "at", "reason"]
        read_only_fields = fields


PROTOCOL_FIELDS = ["unit", "sequence_design", "split_cases", "washout_days", "allow_amendments", "hybrid_lambda", "seed"]


class StudySerializer(serializers.ModelSerializer):
    arms = ArmSerializer(many=True, read_only=True)
    amendments = AmendmentSerializer(many=True, read_only=True)
    unblindings = UnblindingSerializer(many=True, read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**62, help_text="Seed of the readers' case orders and sequence groups; random when omitted.")
    hybrid_lambda = serializers.FloatField(required=False, min_value=0, max_value=1)

    class Meta:
        model = Study
        fields = ["id", "name", "description", *PROTOCOL_FIELDS, "status", "protocol_version", "opened_at", "created_at",
                  "created_by", "closed_at", "arms", "amendments", "unblindings"]
        read_only_fields = ["status", "protocol_version", "opened_at", "created_at", "created_by", "closed_at"]
        # Uniqueness is checked by the service, inside its transaction.
        extra_kwargs = {"name": {"validators": []}}


class StudyUpdateSerializer(serializers.ModelSerializer):
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**62)
    hybrid_lambda = serializers.FloatField(required=False, min_value=0, max_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                   help_text="Why the protocol changes: required for protocol fields once the study is open.")

    class Meta:
        model = Study
        fields = ["name", "description", *PROTOCOL_FIELDS, "reason"]
        extra_kwargs = {"name": {"validators": []}}


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "study", "user", "username", "role", "sequence_group", "joined_at"]
        read_only_fields = fields


class MemberCreateSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1)
    role = serializers.ChoiceField(choices=Membership.Role.choices)


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
        fields = ["id", "reader", "reader_username", "study", "reading_set", "arm", "arm_kind", "session", "case_order", "order_seed", "opens_at", "submitted", "arm_status", "created_at"]
        read_only_fields = fields

    def get_submitted(self, assignment) -> int:
        return assignment.readings.filter(status=Reading.Status.SUBMITTED).count()

    @extend_schema_field(ArmStatusSerializer)
    def get_arm_status(self, assignment) -> dict:
        return sessions.arm_status(assignment)._asdict()


class AssignmentCreateSerializer(serializers.Serializer):
    reader = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    reading_set = serializers.PrimaryKeyRelatedField(queryset=ReadingSet.objects.select_related("study"))
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


class ViewerSubmitSerializer(AnswersSerializer):
    client_key = serializers.CharField(max_length=64, help_text="Idempotency key: a retry with the same key returns the stored reading.")


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
