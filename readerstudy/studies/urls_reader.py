"""The reader's pages (mounted at /read/); the viewer's JSON endpoints are part of the REST API
(readerstudy/api/views/viewer.py)."""
from django.urls import path

from readerstudy.studies.views import overlay, reader

app_name = "reader"

urlpatterns = [
    path("", reader.worklist, name="worklist"),
    path("<int:assignment_id>/continue/", reader.continue_reading, name="continue"),
    path("<int:assignment_id>/exams/<int:exam_id>/", reader.viewer, name="viewer"),
    path("overlay/<int:assignment_id>/<int:exam_id>/", overlay.overlay_json, name="overlay"),
    path("overlay/<int:assignment_id>/<int:exam_id>/<str:view>/<str:kind>.png", overlay.overlay_heatmap, name="overlay-heatmap"),
]
