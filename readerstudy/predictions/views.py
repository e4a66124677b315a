"""Pages under /models/: the registry, starting a run, the live run dashboard (coordinators), and the
AI overlay endpoints of the reading workstation (readers, AI-aided arm only)."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from readerstudy.accounts import roles
from readerstudy.predictions import heatmaps, overlay, registry, runs
from readerstudy.predictions.forms import RegisterModelForm, StartRunForm
from readerstudy.predictions.models import ModelRun, ModelRunItem, ModelVersion
from readerstudy.studies.access import assignment_for_reader

ITEMS_PER_PAGE = 100


def _require_coordinator(user):
    if not roles.is_coordinator(user):
        raise PermissionDenied("Only coordinators manage models and model runs.")


def registry_page(request):
    """Registered model versions, and a form to register another (a path on the workers' storage or an upload)."""
    _require_coordinator(request.user)
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
    versions = ModelVersion.objects.all()
    return render(request, "predictions/registry.html", {"versions": versions, "form": form})


def start_run_page(request):
    _require_coordinator(request.user)
    initial = {}
    if request.GET.get("reading_set"):
        initial["reading_set"] = request.GET["reading_set"]
    if request.GET.get("study"):
        initial["study"] = request.GET["study"]
    form = StartRunForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = runs.start_run(data["model_version"], reading_set=data["reading_set"], study=data["study"],
                                 options=form.options(), actor=request.user, request=request)
        except runs.RunError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Started {run} over {run.items.count()} exams.")
            return redirect("predictions:run", run.pk)
    recent = ModelRun.objects.select_related("model_version", "study", "reading_set")[:20]
    return render(request, "predictions/start_run.html", {"form": form, "runs": recent})


def run_page(request, run_id):
    """The run dashboard: live progress (polled from run_progress), failures with their reasons, cancel."""
    _require_coordinator(request.user)
    run = get_object_or_404(ModelRun.objects.select_related("model_version", "study", "reading_set"), pk=run_id)
    problems = run.items.filter(state=ModelRunItem.State.FAILED).select_related("exam").order_by("exam__label")
    page = Paginator(problems, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "predictions/run.html", {"run": run, "progress": runs.progress(run), "failures": page})


@require_GET
def run_progress(request, run_id):
    _require_coordinator(request.user)
    run = get_object_or_404(ModelRun, pk=run_id)
    return JsonResponse(runs.progress(run).as_dict())


@require_POST
def cancel_run(request, run_id):
    _require_coordinator(request.user)
    run = get_object_or_404(ModelRun, pk=run_id)
    try:
        runs.cancel_run(run, actor=request.user, request=request)
    except runs.RunError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Cancelled {run}.")
    return redirect("predictions:run", run.pk)


@require_POST
def resume_run(request, run_id):
    _require_coordinator(request.user)
    run = get_object_or_404(ModelRun, pk=run_id)
    try:
        sent = runs.resume_run(run, actor=request.user, request=request)
    except runs.RunError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Sent the unfinished exams of {run} again ({sent} tasks).")
    return redirect("predictions:run", run.pk)


def _reader_assignment(request, assignment_id):
    if not roles.is_reader(request.user):
        raise PermissionDenied("Only readers see model output, in an AI-aided arm.")
    return assignment_for_reader(request.user, assignment_id)


@require_GET
def overlay_json(request, assignment_id, exam_id):
    """The viewer's ai_overlay for one exam; 404 wherever the arm shows no model output."""
    data = overlay.ai_overlay(_reader_assignment(request, assignment_id), exam_id)
    if data is None:
        raise Http404("No model output here.")
    return JsonResponse(data)


@require_GET
def overlay_heatmap(request, assignment_id, exam_id, view, kind):
    relative = overlay.heatmap_path(_reader_assignment(request, assignment_id), exam_id, view, kind)
    if relative is None:
        raise Http404("No heatmap here.")
    path = heatmaps.absolute_path(relative)
    if not path.is_file():
        raise Http404("The heatmap file is missing.")
    response = FileResponse(open(path, "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
