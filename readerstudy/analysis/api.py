"""Analysis by API: the same results and files as the statistician pages, behind the same policy
decision (`STUDY_ANSWERS`: the study's coordinator and statistician, once it is unblinded). A
denial is Django's PermissionDenied, which DRF (and the project's exception handler) answers 403."""
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.access import policy
from readerstudy.analysis.study_analysis import SCOPES, AnalysisUnavailable, analyse_study, parse_answers
from readerstudy.analysis.study_ratings import ANSWERS
from readerstudy.analysis.views import parse_subgroup, ratings_response
from readerstudy.studies.models import Study

ANSWERS_PARAMETER = OpenApiParameter(
    "answers", str, enum=list(ANSWERS),
    description="first: each reading's first submitted answers (primary analysis, default); "
                "amended: the current answers after amendments (secondary analysis)")


def _study(request, pk) -> Study:
    study = get_object_or_404(Study, pk=pk)
    policy.require(request.user, policy.STUDY_ANSWERS, study)
    return study


def _answers(request) -> str:
    try:
        return parse_answers(request.query_params.get("answers"))
    except AnalysisUnavailable as reason:
        raise ValidationError({"answers": str(reason)}) from None


class StudyAnalysisView(APIView):
    @extend_schema(
        summary="A study's analysis: reader, model and hybrid AUCs with bootstrap intervals, DeLong, MRMC, "
                "sequence groups and the period-effect check, the exploratory lam sweep",
        parameters=[
            OpenApiParameter("scope", str, enum=list(SCOPES), description="arms to analyse"),
            OpenApiParameter("subgroup", str, description="attribute:value, e.g. density:B"),
            ANSWERS_PARAMETER,
        ],
        responses={200: dict},
    )
    def get(self, request, pk):
        study = _study(request, pk)
        answers = _answers(request)
        try:
            result = analyse_study(study, scope=request.query_params.get("scope", "both"),
                                   subgroup=parse_subgroup(request), answers=answers)
        except AnalysisUnavailable as reason:
            raise ValidationError({"detail": str(reason)}) from None
        return Response({
            "study": study.pk, "scope": result.scope, "answers": result.answers, "analysis": result.answers_label,
            "has_amendments": result.has_amendments, "protocol_version": result.provenance.get("protocol_version"),
            "truth_version": result.provenance.get("truth_version"), "hybrid_lambda": result.provenance.get("hybrid_lambda"),
            "model_run": result.provenance.get("model_run"), "coverage": result.coverage,
            "crossover": result.crossover, "crossover_note": result.crossover_note,
            "report_key": result.directory.name, "files": result.files(), "results": result.results,
        })


class StudyRatingsExportView(APIView):
    @extend_schema(summary="A study's readings and model scores in the long format (with sequence group and period)",
                   parameters=[ANSWERS_PARAMETER], responses={(200, "text/csv"): str})
    def get(self, request, pk):
        study = _study(request, pk)
        return ratings_response(request, study, _answers(request), via="api")


api_urlpatterns = [
    path("analysis/studies/<int:pk>/", StudyAnalysisView.as_view(), name="api-study-analysis"),
    path("analysis/studies/<int:pk>/ratings.csv", StudyRatingsExportView.as_view(), name="api-study-ratings"),
]
