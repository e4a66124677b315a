"""The audit trail for coordinators: filter, page through, export as CSV. Read-only by construction."""
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from readerstudy.audit.models import AuditEvent
from readerstudy.studies import audit_trail, exports
from readerstudy.studies.forms import AuditFilterForm
from readerstudy.studies.views.roles import coordinator_required

PAGE_SIZE = 100


def _events(form):
    params = form.params() if form.is_valid() else {}
    return audit_trail.filtered(AuditEvent.objects.all(), params), params


@require_GET
@coordinator_required
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    events, params = _events(form)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return render(request, "studies/coordinator/audit.html", {"form": form, "page": page, "query": query})


@require_GET
@coordinator_required
def audit_csv(request):
    events, _ = _events(AuditFilterForm(request.GET or None))
    return exports.audit_csv(request, events)
