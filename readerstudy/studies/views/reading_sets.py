"""Coordinator pages for reading sets: pick exams from a filtered list, or draw a stratified random sample."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from readerstudy.access import policy
from readerstudy.studies import reading_sets
from readerstudy.studies.errors import Conflict
from readerstudy.studies.forms import ExamFilterForm, ReadingSetPickForm, SampleForm
from readerstudy.studies.models import ReadingSet
from readerstudy.studies.views.common import add_service_errors, get_study

PAGE_LIMIT = 500  # exams listed for picking; narrow the filter to see others


def _filters(form: ExamFilterForm, study) -> dict:
    data = form.cleaned_data if form.is_valid() else {}
    filters = {k: data.get(k) or "" for k in ("label", "source", "stratum", "attribute")}
    if data.get("not_in_study"):
        filters["exclude_study"] = study
    return filters


def _filtered(request, filter_form, study, form_for_errors):
    base = policy.selectable_exams(request.user)
    try:
        return reading_sets.filter_exams(**_filters(filter_form, study), base=base)
    except ValidationError as error:
        add_service_errors(form_for_errors, error)
        return reading_sets.filter_exams(base=base)


@require_http_methods(["GET", "POST"])
def reading_set_create(request, study_id):
    """Pick exams by hand from the filtered list (filters travel in the query string)."""
    study = get_study(request, study_id)
    filter_form = ExamFilterForm(request.GET or None)
    exams = _filtered(request, filter_form, study, filter_form)
    form = ReadingSetPickForm(request.POST or None, exams=exams)
    if request.method == "POST" and form.is_valid():
        picked = [e.pk for e in form.cleaned_data["exams"]]
        selection = {"method": "picked", "filters": {k: v for k, v in _filters(filter_form, study).items() if v and k != "exclude_study"}}
        try:
            reading_set = reading_sets.create_reading_set(study, request.user, name=form.cleaned_data["name"], exam_ids=picked, selection=selection, request=request)
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Created {reading_set.name} with {len(picked)} exams.")
            return redirect("studies:reading-set-detail", study_id=study.pk, set_id=reading_set.pk)
    listed = exams[:PAGE_LIMIT]
    strata = reading_sets.strata_of([e.pk for e in listed])
    return render(request, "studies/coordinator/reading_set_pick.html", {
        "study": study, "filter_form": filter_form, "form": form,
        "rows": [(e, strata[e.pk]) for e in listed], "total": exams.count(), "limit": PAGE_LIMIT,
    })


@require_http_methods(["GET", "POST"])
def reading_set_sample(request, study_id):
    """Draw a random sample of the filtered exams, stratified by ground truth."""
    study = get_study(request, study_id)
    filter_form = ExamFilterForm(request.POST or None, prefix="filter")
    form = SampleForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and filter_form.is_valid():
        filters = {k: v for k, v in _filters(filter_form, study).items() if k != "exclude_study"}
        try:
            reading_set = reading_sets.sample_reading_set(
                study, request.user, name=form.cleaned_data["name"], size=form.cleaned_data.get("size"),
                per_stratum=form.cleaned_data.get("per_stratum"), seed=form.cleaned_data.get("seed"),
                filters=filters, base=policy.selectable_exams(request.user), request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Drew {reading_set.members.count()} exams into {reading_set.name} (seed {reading_set.selection['seed']}).")
            return redirect("studies:reading-set-detail", study_id=study.pk, set_id=reading_set.pk)
    return render(request, "studies/coordinator/reading_set_sample.html", {"study": study, "filter_form": filter_form, "form": form})


@require_GET
def reading_set_detail(request, study_id, set_id):
    study = get_study(request, study_id)
    reading_set = get_object_or_404(ReadingSet, pk=set_id, study=study)
    members = reading_set.members.select_related("exam").order_by("position")
    strata = reading_sets.strata_of([m.exam_id for m in members])
    assignments = reading_set.assignments.select_related("reader", "arm").order_by("reader__username", "session", "arm__position")
    return render(request, "studies/coordinator/reading_set_detail.html", {
        "study": study, "reading_set": reading_set, "rows": [(m, strata[m.exam_id]) for m in members], "assignments": assignments,
    })
