"""The progress dashboard of a study and its CSV export (aggregates only: no answers)."""
from django.shortcuts import render
from django.views.decorators.http import require_GET

from readerstudy.studies import exports, progress
from readerstudy.studies.views.roles import coordinator_required, get_study


@require_GET
@coordinator_required
def dashboard(request, study_id):
    study = get_study(study_id)
    rows = progress.by_reader(study)
    return render(request, "studies/coordinator/progress.html", {
        "study": study, "rows": rows, "overall": progress.overall(rows), "exams": progress.by_exam(study),
    })


@require_GET
@coordinator_required
def dashboard_csv(request, study_id):
    return exports.progress_csv(request, get_study(study_id), request.GET.get("table", "readers"))
