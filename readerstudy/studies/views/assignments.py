"""Coordinator page to assign the study's readers to a reading set (sessions follow each reader's sequence group)."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from readerstudy.studies import assignments
from readerstudy.studies.errors import Conflict
from readerstudy.studies.forms import AssignForm
from readerstudy.studies.models import Assignment
from readerstudy.studies.views.common import add_service_errors, get_study


@require_http_methods(["GET", "POST"])
def assign(request, study_id):
    study = get_study(request, study_id)
    form = AssignForm(request.POST or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = assignments.assign_many(data["reading_set"], list(data["readers"]), request.user, opens_at=data.get("opens_at"), request=request)
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Created {len(created)} assignments, each with its reader's sessions and own case order.")
            return redirect("studies:detail", study_id=study.pk)
    existing = Assignment.objects.filter(arm__study=study).select_related("reader", "reading_set", "arm").order_by("reader__username", "reading_set__name", "session", "arm__position")
    return render(request, "studies/coordinator/assign.html", {"study": study, "form": form, "assignments": existing})
