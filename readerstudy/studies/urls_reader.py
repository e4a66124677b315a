"""The reader's pages and the JSON endpoints behind the viewer (mounted at /read/)."""
from django.urls import path

from readerstudy.studies import api_reading
from readerstudy.studies.views import reader

app_name = "reader"

urlpatterns = [
    path("", reader.worklist, name="worklist"),
    path("<int:assignment_id>/continue/", reader.continue_reading, name="continue"),
    path("<int:assignment_id>/exams/<int:exam_id>/", reader.viewer, name="viewer"),
    path("api/assignments/<int:assignment_id>/exams/<int:exam_id>/", api_reading.context, name="api-context"),
    path("api/assignments/<int:assignment_id>/exams/<int:exam_id>/draft", api_reading.draft, name="api-draft"),
    path("api/assignments/<int:assignment_id>/exams/<int:exam_id>/submit", api_reading.submit, name="api-submit"),
]
