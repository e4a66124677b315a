"""Coordinator pages for studies and arms: list, create, edit, open and close, and answers in aggregate."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST, require_http_methods

from readerstudy.accounts import roles
from readerstudy.studies import aggregates, blinding, exports, lifecycle, progress
from readerstudy.studies.errors import Conflict
from readerstudy.studies.forms import ArmForm, StudyForm
from readerstudy.studies.models import Arm, Reading, Study
from readerstudy.studies.views.roles import add_service_errors, coordinator_required, get_study


@require_GET
@coordinator_required
def study_list(request):
    studies = Study.objects.prefetch_related("arms").order_by("-created_at")
    return render(request, "studies/coordinator/study_list.html", {"studies": studies})


@require_http_methods(["GET", "POST"])
@coordinator_required
def study_create(request):
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = lifecycle.create_study(request.user, request=request, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Created {study.name} with an unaided and an AI-aided arm.")
            return redirect("studies:detail", study_id=study.pk)
    return render(request, "studies/coordinator/study_form.html", {"form": form, "study": None})


@require_GET
@coordinator_required
def study_detail(request, study_id):
    study = get_study(study_id)
    rows = progress.by_reader(study)
    context = {
        "study": study,
        "arms": study.arms.select_related("model_run__model_version"),
        "reading_sets": study.reading_sets.all(),
        "progress_rows": rows,
        "overall": progress.overall(rows),
    }
    return render(request, "studies/coordinator/study_detail.html", context)


@require_http_methods(["GET", "POST"])
@coordinator_required
def study_edit(request, study_id):
    study = get_study(study_id)
    form = StudyForm(request.POST or None, instance=Study.objects.get(pk=study.pk))
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.update_study(study, request.user, {k: form.cleaned_data[k] for k in StudyForm.Meta.fields}, request=request)
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Saved.")
            return redirect("studies:detail", study_id=study.pk)
    return render(request, "studies/coordinator/study_form.html", {"form": form, "study": study})


@require_POST
@coordinator_required
def study_status(request, study_id):
    """Open a draft study or close an open one (closing unblinds answers to coordinators)."""
    study = get_study(study_id)
    change = {"open": lifecycle.open_study, "close": lifecycle.close_study}.get(request.POST.get("action"))
    if change is None:
        messages.error(request, "Choose to open or to close the study.")
    else:
        try:
            change(study, request.user, request=request)
            messages.success(request, f"The study is now {study.get_status_display().lower()}.")
        except Conflict as error:
            messages.error(request, str(error))
    return redirect("studies:detail", study_id=study.pk)


@require_http_methods(["GET", "POST"])
@coordinator_required
def arm_edit(request, study_id, arm_id):
    study = get_study(study_id)
    arm = get_object_or_404(Arm, pk=arm_id, study=study)
    form = ArmForm(request.POST or None, instance=Arm.objects.get(pk=arm.pk))
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.configure_arm(arm, request.user, position=form.cleaned_data["position"], model_run=form.cleaned_data.get("model_run"), request=request)
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Arm saved.")
            return redirect("studies:detail", study_id=study.pk)
    return render(request, "studies/coordinator/arm_form.html", {"form": form, "study": study, "arm": arm})


@require_GET
@coordinator_required
def answers(request, study_id):
    """Answers per arm in aggregate; individual answers only once the study is closed."""
    study = get_study(study_id)
    unblinded = blinding.can_see_answers(request.user, study)
    return render(request, "studies/coordinator/answers.html", {
        "study": study, "arms": aggregates.answers_by_arm(study, unblinded=unblinded), "unblinded": unblinded, "min_readings": aggregates.MIN_READINGS,
    })


@require_GET
def readings_csv(request, study_id):
    """Every individual answer: statisticians, and coordinators once the study is closed."""
    study = get_study(study_id)
    if not (roles.is_coordinator(request.user) or roles.is_statistician(request.user)):
        raise PermissionDenied("Only coordinators and statisticians export readings.")
    if not blinding.can_see_answers(request.user, study):
        raise PermissionDenied("Answers stay blinded until the study is closed.")
    return exports.readings_csv(request, study, blinding.visible_readings(request.user, Reading.objects.all()))
