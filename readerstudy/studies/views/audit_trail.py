"""The audit trail: filter, page through, export as CSV. Read-only by construction; what each user
sees is the access policy's audit scope (their studies' events; reading events hidden while blinded)."""
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from readerstudy.access import policy
from readerstudy.studies import audit_trail, exports
from readerstudy.studies.forms import AuditFilterForm

PAGE_SIZE = 100


def _events(request):
    policy.require(request.user, policy.AUDIT_VIEW)
    form = AuditFilterForm(request.GET or None, studies=policy.studies(request.user, policy.STUDY_AUDIT))
    params = form.params() if form.is_valid() else {}
    return form, audit_trail.filtered(policy.audit_events(request.user), params), params


@require_GET
def audit_list(request):
    form, events, params = _events(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return render(request, "studies/coordinator/audit.html", {"form": form, "page": page, "query": query})


@require_GET
def audit_csv(request):
    _, events, _ = _events(request)
    return exports.audit_csv(request, events)
