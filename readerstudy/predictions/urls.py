"""Mounted at /models/: coordinator pages and the reader's AI overlay endpoints."""
from django.urls import path

from readerstudy.predictions import views

app_name = "predictions"

urlpatterns = [
    path("", views.registry_page, name="registry"),
    path("runs/", views.start_run_page, name="start-run"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("runs/<int:run_id>/progress", views.run_progress, name="run-progress"),
    path("runs/<int:run_id>/cancel", views.cancel_run, name="run-cancel"),
    path("runs/<int:run_id>/resume", views.resume_run, name="run-resume"),
    path("overlay/<int:assignment_id>/<int:exam_id>/", views.overlay_json, name="overlay"),
    path("overlay/<int:assignment_id>/<int:exam_id>/<str:view>/<str:kind>.png", views.overlay_heatmap, name="overlay-heatmap"),
]
