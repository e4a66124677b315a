"""Study pages: list, create, the coordinator's study page, edit (protocol amendments once open),
open and close, interim unblinding, members, the AI-aided arm's run, and the answers export."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from readerstudy.access import policy
from readerstudy.studies import exports, lifecycle, memberships, progress
from readerstudy.studies.errors import Conflict
from readerstudy.studies.forms import ArmForm, MemberForm, StudyForm, UnblindForm
from readerstudy.studies.models import Arm, Study
from readerstudy.studies.views.common import add_service_errors, get_study


@require_GET
def study_list(request):
    """The studies the user takes part in, with their role in each."""
    studies = policy.studies(request.user).prefetch_related("arms").order_by("-created_at")
    rows = [(study, policy.role_in(request.user, study)) for study in studies]
    return render(request, "studies/coordinator/study_list.html", {
        "rows": rows, "may_create": policy.can(request.user, policy.STUDY_CREATE)})


@require_http_methods(["GET", "POST"])
def study_create(request):
    policy.require(request.user, policy.STUDY_CREATE)
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = lifecycle.create_study(request.user, request=request, **{k: form.cleaned_data[k] for k in StudyForm.Meta.fields})
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Created {study.name} with an unaided and an AI-aided arm; you are its coordinator.")
            return redirect("studies:detail", study_id=study.pk)
    return render(request, "studies/coordinator/study_form.html", {"form": form, "study": None})


@require_GET
def study_detail(request, study_id):
    study = get_study(request, study_id)
    rows = progress.by_reader(study)
    context = {
        "study": study,
        "arms": study.arms.select_related("model_run__model_version"),
        "reading_sets": study.reading_sets.all(),
        "members": study.memberships.select_related("user").order_by("role", "user__username"),
        "amendments": study.amendments.select_related("by"),
        "unblinding": study.unblindings.select_related("by").first(),
        "may_unblind": policy.can(request.user, policy.STUDY_UNBLIND, study),
        "unblind_form": UnblindForm(),
        "member_form": MemberForm(),
        "progress_rows": rows,
        "overall": progress.overall(rows),
    }
    return render(request, "studies/coordinator/study_detail.html", context)


@require_http_methods(["GET", "POST"])
def study_edit(request, study_id):
    study = get_study(request, study_id)
    form = StudyForm(request.POST or None, instance=Study.objects.get(pk=study.pk))
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.update_study(study, request.user, {k: form.cleaned_data[k] for k in StudyForm.Meta.fields},
                                   reason=form.cleaned_data.get("reason", ""), request=request)
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Saved." if study.is_draft else f"Saved as protocol version {study.protocol_version}.")
            return redirect("studies:detail", study_id=study.pk)
    return render(request, "studies/coordinator/study_form.html", {"form": form, "study": study})


@require_POST
def study_status(request, study_id):
    """Open a draft study (freezing its protocol) or close an open one (unblinding its answers)."""
    study = get_study(request, study_id)
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


@require_POST
def study_unblind(request, study_id):
    """An explicit interim unblinding, recorded with who, when and why."""
    study = get_study(request, study_id, policy.STUDY_UNBLIND)
    form = UnblindForm(request.POST)
    if not form.is_valid():
        messages.error(request, "An interim unblinding needs a reason.")
    else:
        try:
            lifecycle.unblind(study, request.user, form.cleaned_data["reason"], request=request)
            messages.success(request, "The study is unblinded: its coordinator and statistician now see the answers.")
        except (Conflict, ValidationError) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    return redirect("studies:detail", study_id=study.pk)


@require_POST
def member_add(request, study_id):
    study = get_study(request, study_id)
    form = MemberForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for errors in form.errors.values() for m in errors))
    else:
        try:
            membership = memberships.add_member(study, form.cleaned_data["username"], form.cleaned_data["role"], request.user, request=request)
        except (Conflict, ValidationError) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            group = f" (sequence group: {membership.get_sequence_group_display().lower()})" if membership.sequence_group else ""
            messages.success(request, f"{membership.user.get_username()} is now a {membership.get_role_display().lower()} of this study{group}.")
    return redirect("studies:detail", study_id=study.pk)


@require_http_methods(["GET", "POST"])
def arm_edit(request, study_id, arm_id):
    """The model run the AI-aided arm shows; once the study is open, a protocol amendment."""
    study = get_study(request, study_id)
    arm = get_object_or_404(Arm, pk=arm_id, study=study, kind=Arm.Kind.AI_AIDED)
    form = ArmForm(request.POST or None, runs=policy.model_runs(request.user), study=study,
                   initial={"model_run": arm.model_run_id})
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.configure_arm(arm, request.user, model_run=form.cleaned_data["model_run"],
                                    reason=form.cleaned_data.get("reason", ""), request=request)
        except ValidationError as error:
            add_service_errors(form, error)
        except Conflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Arm saved.")
            return redirect("studies:detail", study_id=study.pk)
    problems = lifecycle.run_problems(study, arm.model_run) if arm.model_run_id else []
    return render(request, "studies/coordinator/arm_form.html", {"form": form, "study": study, "arm": arm, "problems": problems})


@require_GET
def readings_csv(request, study_id):
    """Every individual answer: the study's coordinator and statistician, once it is unblinded."""
    study = get_study(request, study_id, policy.STUDY_ANSWERS)
    return exports.readings_csv(request, study, policy.readings(request.user))
