"""Study pages under /studies/ (plus the public set-password page behind invitation links)."""
from django.urls import path

from readerstudy.studies.views import assignments, audit_trail, coordinator, model_runs, progress, readers, reading_sets

app_name = "studies"
urlpatterns = [
    path("", coordinator.study_list, name="list"),
    path("new/", coordinator.study_create, name="create"),
    path("<int:study_id>/", coordinator.study_detail, name="detail"),
    path("<int:study_id>/edit/", coordinator.study_edit, name="edit"),
    path("<int:study_id>/status/", coordinator.study_status, name="set-status"),
    path("<int:study_id>/unblind/", coordinator.study_unblind, name="unblind"),
    path("<int:study_id>/members/", coordinator.member_add, name="member-add"),
    path("<int:study_id>/arms/<int:arm_id>/", coordinator.arm_edit, name="arm-edit"),
    path("<int:study_id>/readings.csv", coordinator.readings_csv, name="readings-csv"),
    path("<int:study_id>/model-run/", model_runs.start_run_page, name="start-run"),
    path("<int:study_id>/reading-sets/new/", reading_sets.reading_set_create, name="reading-set-create"),
    path("<int:study_id>/reading-sets/sample/", reading_sets.reading_set_sample, name="reading-set-sample"),
    path("<int:study_id>/reading-sets/<int:set_id>/", reading_sets.reading_set_detail, name="reading-set-detail"),
    path("<int:study_id>/assignments/", assignments.assign, name="assign"),
    path("<int:study_id>/progress/", progress.dashboard, name="progress"),
    path("<int:study_id>/progress.csv", progress.dashboard_csv, name="progress-csv"),
    path("readers/", readers.reader_list, name="readers"),
    path("readers/<int:user_id>/invite/", readers.reader_invite, name="reader-invite"),
    path("welcome/<uidb64>/<token>/", readers.SetPasswordView.as_view(), name="set-password"),
    path("audit/", audit_trail.audit_list, name="audit"),
    path("audit.csv", audit_trail.audit_csv, name="audit-csv"),
]
