"""Analysis by API: the same results and files as the statistician pages."""
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy import audit
from readerstudy.analysis.exports import ratings_csv
from readerstudy.analysis.study_analysis import SCOPES, AnalysisUnavailable, analyse_study
from readerstudy.analysis.views import parse_subgroup, study_for_analysis


def _study(request, pk):
    try:
        return study_for_analysis(request.user, pk)
    except DjangoPermissionDenied as error:
        raise PermissionDenied(str(error)) from None


class StudyAnalysisView(APIView):
    @extend_schema(
        summary="A study's analysis: reader, model and hybrid AUCs with bootstrap intervals, DeLong, MRMC, lam sweep",
        parameters=[
            OpenApiParameter("scope", str, enum=list(SCOPES), description="arms to analyse"),
            OpenApiParameter("subgroup", str, description="attribute:value, e.g. density:B"),
        ],
        responses={200: dict},
    )
    def get(self, request, pk):
        study = _study(request, pk)
        try:
            result = analyse_study(study, scope=request.query_params.get("scope", "both"), subgroup=parse_subgroup(request))
        except AnalysisUnavailable as reason:
            raise ValidationError({"detail": str(reason)}) from None
        return Response({"study": study.pk, "scope": result.scope, "coverage": result.coverage,
                         "report_key": result.directory.name, "files": result.files(), "results": result.results})


class StudyRatingsExportView(APIView):
    @extend_schema(summary="A study's readings and model scores in the long format", responses={(200, "text/csv"): str})
    def get(self, request, pk):
        study = _study(request, pk)
        audit.record(request.user, "export", study, study=study, file="ratings.csv", via="api")
        response = HttpResponse(ratings_csv(study), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="study{study.pk}-ratings.csv"'
        return response


api_urlpatterns = [
    path("analysis/studies/<int:pk>/", StudyAnalysisView.as_view(), name="api-study-analysis"),
    path("analysis/studies/<int:pk>/ratings.csv", StudyRatingsExportView.as_view(), name="api-study-ratings"),
]
