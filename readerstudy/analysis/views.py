"""Statistician pages: a study's AUCs, intervals, differences, MRMC, crossover, lam sweep, ROC plots, downloads.

Who may see what is the access policy's decision (`readerstudy.access.policy`): the index for
the coordinators and statisticians of a study; a study's analysis, report files and exports
(`STUDY_ANSWERS`) for its coordinator and statistician once it is unblinded (closed, or an
explicit interim unblinding), for nobody while it is blinded.
"""
import mimetypes

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from readerstudy import audit
from readerstudy.access import policy
from readerstudy.analysis.exports import ratings_csv
from readerstudy.analysis.study_analysis import REPORT_FILES, SCOPES, AnalysisUnavailable, analyse_study, parse_answers
from readerstudy.analysis.study_ratings import ANSWERS_LABELS, FIRST, has_amendments
from readerstudy.studies.models import Study


def study_for_analysis(user, pk) -> Study:
    """The study, if the policy lets `user` see its answers (PermissionDenied otherwise)."""
    study = get_object_or_404(Study, pk=pk)
    policy.require(user, policy.STUDY_ANSWERS, study)
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
    policy.require(request.user, policy.ANALYSIS_INDEX)
    studies = list(policy.studies(request.user, policy.STUDY_ANSWERS).order_by("-created_at"))
    blinded = list(policy.studies(request.user, policy.STUDY_TRUTH).exclude(pk__in=[s.pk for s in studies])
                   .order_by("-created_at"))
    return render(request, "analysis/index.html", {"studies": studies, "blinded": blinded})


@require_GET
def study_page(request, pk):
    study = study_for_analysis(request.user, pk)
    scope = request.GET.get("scope", "both")
    answers = request.GET.get("answers") or FIRST
    context = {"study": study, "scopes": SCOPES, "scope": scope, "subgroup_raw": request.GET.get("subgroup", ""),
               "answers": answers, "answers_label": ANSWERS_LABELS.get(answers, ""),
               "has_amendments": has_amendments(study)}
    try:
        parse_answers(answers)
        result = analyse_study(study, scope=scope, subgroup=parse_subgroup(request), answers=answers)
    except AnalysisUnavailable as reason:
        context["unavailable"] = str(reason)
        valid = scope in SCOPES and answers in ANSWERS_LABELS
        return render(request, "analysis/study.html", context, status=200 if valid else 400)
    context.update(result=result, r=result.results, key=result.directory.name, files=result.files(),
                   x=result.results.get("crossover"))
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


def ratings_response(request, study, answers: str, via: str | None = None) -> HttpResponse:
    """The long-format CSV (first or amended answers), audited."""
    extra = {"via": via} if via else {}
    audit.record(request.user, "export", study, study=study, file="ratings.csv", answers=answers, **extra)
    response = HttpResponse(ratings_csv(study, answers=answers), content_type="text/csv")
    suffix = "" if answers == FIRST else f"-{answers}"
    response["Content-Disposition"] = f'attachment; filename="study{study.pk}-ratings{suffix}.csv"'
    return response


@require_GET
def ratings_export(request, pk):
    study = study_for_analysis(request.user, pk)
    try:
        answers = parse_answers(request.GET.get("answers"))
    except AnalysisUnavailable as reason:
        return HttpResponse(str(reason), status=400, content_type="text/plain")
    return ratings_response(request, study, answers)
