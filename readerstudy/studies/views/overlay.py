"""The reader's AI overlay endpoints (mounted under /read/): the model's output for the exam on
screen, and its heatmap PNGs. Only the reader of the assignment gets anything, and only where the
AI-aided arm shows model output now (see ai_overlay.py); everywhere else the answer is 404."""
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from readerstudy.access import policy
from readerstudy.predictions import heatmaps
from readerstudy.studies import ai_overlay
from readerstudy.studies.models import Assignment


def _assignment(request, assignment_id) -> Assignment:
    assignment = get_object_or_404(Assignment.objects.select_related("arm__model_run__model_version"), pk=assignment_id)
    policy.require(request.user, policy.ASSIGNMENT_READ, assignment, hide=True)
    return assignment


@require_GET
def overlay_json(request, assignment_id, exam_id):
    """The viewer's ai_overlay for one exam; 404 wherever the arm shows no model output."""
    data = ai_overlay.ai_overlay(_assignment(request, assignment_id), exam_id)
    if data is None:
        raise Http404("No model output here.")
    return JsonResponse(data)


@require_GET
def overlay_heatmap(request, assignment_id, exam_id, view, kind):
    relative = ai_overlay.heatmap_path(_assignment(request, assignment_id), exam_id, view, kind)
    if relative is None:
        raise Http404("No heatmap here.")
    path = heatmaps.absolute_path(relative)
    if not path.is_file():
        raise Http404("The heatmap file is missing.")
    response = FileResponse(open(path, "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
