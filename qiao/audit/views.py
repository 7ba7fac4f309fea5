from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from qiao.audit.display import audit_event_rows
from qiao.audit.forms import AuditFilterForm
from qiao.audit.selectors import audit_events_search
from qiao.org.http import StaffRequest
from qiao.org.permissions import VIEW_AUDIT, staff_has_perm


@login_required
def audit_list(request: StaffRequest) -> HttpResponse:
    if not staff_has_perm(request.user, VIEW_AUDIT):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    criteria = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = audit_events_search(
        username=criteria.get("username", ""),
        action=criteria.get("action", ""),
        customer_no=criteria.get("customer_no", ""),
        date_from=criteria.get("date_from"),
        date_to=criteria.get("date_to"),
    )
    page = Paginator(events, settings.QIAO["PAGE_SIZE"] * 2).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": audit_event_rows(page.object_list),
        "query": query.urlencode(),
    }
    template = "audit/_audit_table.html" if request.htmx else "audit/audit_list.html"
    return render(request, template, context)
