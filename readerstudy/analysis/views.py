"""Statistician pages: a study's AUCs, intervals, differences, MRMC, lam sweep, ROC plots, downloads."""
import mimetypes

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from readerstudy import audit
from readerstudy.accounts import roles
from readerstudy.analysis.exports import ratings_csv
from readerstudy.analysis.study_analysis import REPORT_FILES, SCOPES, AnalysisUnavailable, analyse_study
from readerstudy.studies.blinding import can_see_answers
from readerstudy.studies.models import Study


def study_for_analysis(user, pk) -> Study:
    """Statisticians always; coordinators once the study is closed (answers are blinded until then)."""
    study = get_object_or_404(Study, pk=pk)
    if not can_see_answers(user, study):
        raise PermissionDenied("Analysis shows individual readers' results: statisticians, or coordinators once the study is closed.")
    return study


def parse_subgroup(request):
    raw = request.GET.get("subgroup", "")
    if not raw:
        return None
    key, sep, value = raw.partition(":")
    if not sep or not key:
        raise AnalysisUnavailable(f"subgroup must look like attribute:value, not {raw!r}")
    return key, value


@require_GET
def index(request):
    if not (roles.is_statistician(request.user) or roles.is_coordinator(request.user)):
        raise PermissionDenied("Analysis is for statisticians and coordinators.")
    studies = [s for s in Study.objects.all() if can_see_answers(request.user, s)]
    return render(request, "analysis/index.html", {"studies": studies})


@require_GET
def study_page(request, pk):
    study = study_for_analysis(request.user, pk)
    scope = request.GET.get("scope", "both")
    context = {"study": study, "scopes": SCOPES, "scope": scope, "subgroup_raw": request.GET.get("subgroup", "")}
    try:
        result = analyse_study(study, scope=scope, subgroup=parse_subgroup(request))
    except AnalysisUnavailable as reason:
        context["unavailable"] = str(reason)
        return render(request, "analysis/study.html", context, status=200 if scope in SCOPES else 400)
    context.update(result=result, r=result.results, key=result.directory.name, files=result.files())
    return render(request, "analysis/study.html", context)


@require_GET
def report_file(request, pk, key, name):
    study = study_for_analysis(request.user, pk)
    if name not in REPORT_FILES:
        raise Http404("No such report file.")

    path = settings.MEDIA_ROOT / "analysis" / str(study.pk) / key / name
    if "/" in key or key.startswith(".") or not path.is_file():
        raise Http404("No such report file.")
    audit.record(request.user, "export", study, study=study, file=name, report=key)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    inline = name.endswith((".png", ".svg"))
    return FileResponse(path.open("rb"), content_type=content_type, as_attachment=not inline,
                        filename=f"study{study.pk}-{name}")


@require_GET
def ratings_export(request, pk):
    study = study_for_analysis(request.user, pk)
    audit.record(request.user, "export", study, study=study, file="ratings.csv")
    response = HttpResponse(ratings_csv(study), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="study{study.pk}-ratings.csv"'
    return response
