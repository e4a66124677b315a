"""Pages under /models/: the registry of model versions with the runs the user may see, and the
live run dashboard (progress, cancel, resume). Every decision is the access policy's. Starting a
run over a study's exams is a study page (studies/views/model_runs.py); the reader's AI overlay
endpoints are reader pages (studies/views/overlay.py)."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from readerstudy.access import policy
from readerstudy.predictions import registry, runs
from readerstudy.predictions.forms import RegisterModelForm
from readerstudy.predictions.models import ModelRun, ModelRunItem

ITEMS_PER_PAGE = 100
RUNS_PER_PAGE = 50


def _run(request, run_id, action=policy.RUN_VIEW) -> ModelRun:
    """The run, if the policy allows `action` on it (403 otherwise; 404 if it does not exist)."""
    run = get_object_or_404(ModelRun.objects.select_related("model_version", "created_by"), pk=run_id)
    policy.require(request.user, action, run)
    return run


@require_http_methods(["GET", "POST"])
def registry_page(request):
    """Registered model versions, the model runs the user may see, and (for those who may register
    models) a form to register another (a path on the workers' storage or an upload)."""
    policy.require(request.user, policy.MODEL_VIEW)
    may_register = policy.can(request.user, policy.MODEL_REGISTER)
    if request.method == "POST":
        policy.require(request.user, policy.MODEL_REGISTER)
    form = RegisterModelForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["weights_upload"]:
                version = registry.register_upload(
                    data["weights_upload"], name=data["name"], heatmap_upload=data["heatmap_weights_upload"],
                    notes=data["notes"], actor=request.user, request=request,
                )
            else:
                heatmap = data["heatmap_weights_path"] or (
                    registry.store_upload(data["heatmap_weights_upload"]) if data["heatmap_weights_upload"] else None
                )
                version = registry.register_weights(
                    data["weights_path"], name=data["name"], heatmap_weights=heatmap, notes=data["notes"],
                    actor=request.user, request=request,
                )
        except registry.RegistrationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Registered {version}.")
            return redirect("predictions:registry")
    versions = policy.model_versions(request.user)
    visible_runs = policy.model_runs(request.user).select_related("model_version", "created_by").order_by("-created_at", "-pk")
    run_page = Paginator(visible_runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "predictions/registry.html", {
        "versions": versions, "form": form if may_register else None, "runs": run_page,
    })


@require_GET
def run_page(request, run_id):
    """The run dashboard: live progress (polled from run_progress), failures with their reasons, cancel."""
    run = _run(request, run_id)
    problems = run.items.filter(state=ModelRunItem.State.FAILED).select_related("exam").order_by("exam__label")
    page = Paginator(problems, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "predictions/run.html", {
        "run": run, "progress": runs.progress(run), "failures": page,
        "may_manage": policy.can(request.user, policy.RUN_MANAGE, run),
    })


@require_GET
def run_progress(request, run_id):
    run = _run(request, run_id)
    return JsonResponse(runs.progress(run).as_dict())


@require_POST
def cancel_run(request, run_id):
    run = _run(request, run_id, policy.RUN_MANAGE)
    try:
        runs.cancel_run(run, actor=request.user, request=request)
    except runs.RunError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Cancelled {run}.")
    return redirect("predictions:run", run.pk)


@require_POST
def resume_run(request, run_id):
    run = _run(request, run_id, policy.RUN_MANAGE)
    try:
        sent = runs.resume_run(run, actor=request.user, request=request)
    except runs.RunError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Sent the unfinished exams of {run} again ({sent} tasks).")
    return redirect("predictions:run", run.pk)
