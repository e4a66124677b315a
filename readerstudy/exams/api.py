"""The REST entry to the one import path: POST /api/exams/upload/ (multipart field `files`,
any number of DICOM/PNG/exam-list files or zips). Coordinators only; answers with the per-file
results, 201 when something was stored, 200 when nothing was (every file rejected or skipped)."""
from django.conf import settings
from django.core.exceptions import TooManyFilesSent
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from .ingest import ingest_uploads
from .views import keep_identifier_map_choice


class UploadSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=False)
    keep_identifier_map = serializers.BooleanField(required=False)


class FileResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["imported", "rejected", "exam_list", "skipped"])
    reason = serializers.CharField(help_text="Rejection reason code, empty unless rejected.")
    message = serializers.CharField()
    exam = serializers.CharField(help_text="Label of the exam the image went into.")
    view = serializers.CharField()
    image_id = serializers.IntegerField(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())


class IngestReportSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    rejected = serializers.IntegerField()
    exams = serializers.ListField(child=serializers.CharField())
    results = FileResultSerializer(many=True)


class MayImport(BasePermission):
    """Asks the access policy through Django's permission API (this app imports no other)."""

    message = "Only study creators import exams."

    def has_permission(self, request, view):
        return request.user.has_perm("exam.import")


class ExamUploadView(APIView):
    permission_classes = [MayImport]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = UploadSerializer

    @extend_schema(request={"multipart/form-data": UploadSerializer},
                   responses={201: IngestReportSerializer, 200: IngestReportSerializer})
    def post(self, request):
        try:
            files = request.FILES.getlist("files")
        except TooManyFilesSent:
            return Response({"files": [f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files per upload: "
                                       "put them in a .zip archive instead."]},
                            status=status.HTTP_400_BAD_REQUEST)
        if not files:
            return Response({"files": ["Send at least one file in the multipart field 'files'."]},
                            status=status.HTTP_400_BAD_REQUEST)
        report = ingest_uploads(files, user=request.user, request=request,
                                keep_identifier_map=keep_identifier_map_choice(request.data))
        return Response(report.as_dict(), status=status.HTTP_201_CREATED if report.imported else status.HTTP_200_OK)


api_urlpatterns = [path("exams/upload/", ExamUploadView.as_view(), name="api-exam-upload")]
