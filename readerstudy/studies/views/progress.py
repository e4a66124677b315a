"""The progress dashboard of a study and its CSV export (counts only: no answers)."""
from django.shortcuts import render
from django.views.decorators.http import require_GET

from readerstudy.access import policy
from readerstudy.studies import exports, progress
from readerstudy.studies.views.common import get_study


@require_GET
def dashboard(request, study_id):
    study = get_study(request, study_id, policy.STUDY_PROGRESS)
    rows = progress.by_reader(study)
    return render(request, "studies/coordinator/progress.html", {
        "study": study, "rows": rows, "overall": progress.overall(rows), "exams": progress.by_exam(study),
    })


@require_GET
def dashboard_csv(request, study_id):
    return exports.progress_csv(request, get_study(request, study_id, policy.STUDY_PROGRESS), request.GET.get("table", "readers"))
