"""Mounted at /models/: the registry of model versions and runs, and the run dashboard. (The reader's AI
overlay endpoints are under /read/overlay/, studies/urls_reader.py.)"""
from django.urls import path

from readerstudy.predictions import views

app_name = "predictions"

urlpatterns = [
    path("", views.registry_page, name="registry"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("runs/<int:run_id>/progress", views.run_progress, name="run-progress"),
    path("runs/<int:run_id>/cancel", views.cancel_run, name="run-cancel"),
    path("runs/<int:run_id>/resume", views.resume_run, name="run-resume"),
]
