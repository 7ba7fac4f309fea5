"""Pages of hand-offs (issue 13 items 2 and 3): the notification area of a customer manager,
and the walk-in lookup of the lobby and teller role.

Kept apart from :mod:`.views` so the two pages read together; same habits (thin views, scope in
the selectors, every customer shown audited).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from qiao.audit.models import Action
from qiao.audit.services import audit_list_shown
from qiao.customers.selectors import customers_for_walk_in, search_query_for_audit
from qiao.engagement.notifications import notifications_for_staff, notifications_mark_seen
from qiao.engagement.views import _audit_list
from qiao.org.http import StaffRequest
from qiao.org.permissions import REFER, require_perm


@login_required
def notifications(request: StaffRequest) -> HttpResponse:
    found = notifications_for_staff(staff=request.user)
    _audit_list(request, "notifications", found.customer_nos)
    notifications_mark_seen(staff=request.user)
    return render(request, "engagement/notifications.html", {"n": found})


@login_required
def walk_in(request: StaffRequest) -> HttpResponse:
    """Find a walk-in customer (name, pinyin, mobile, ID tail, number) to refer or complain for.

    Shows only the masked name, tier, manager and customer number. The search is audited as the
    customers app audits one (the query masked by the rule of the field it looks like), with
    the customers it showed, in one insert.
    """
    require_perm(request.user, REFER)
    # Posted, not in the address: a mobile or an ID tail stays out of URLs, logs and history.
    query = request.POST.get("q", "").strip()[:100] if request.method == "POST" else ""
    results = customers_for_walk_in(staff=request.user, query=query)
    audited = search_query_for_audit(query)
    if audited is not None:
        audit_list_shown(
            request_or_staff=request,
            customer_nos=(r.customer_no for r in results),
            detail={"page": "walk-in"},
            lead=[
                (
                    Action.SEARCH,
                    audited.customer_no,
                    {
                        "query": audited.query,
                        "kind": audited.kind,
                        "results": len(results),
                        "page": "walk-in",
                    },
                )
            ],
        )
    # A name is echoed back into the box, never a mobile or an ID number.
    echo = query if sum(ch.isdigit() for ch in query) < 7 else ""
    context = {"results": results, "query": echo, "searched": bool(query)}
    return render(request, "engagement/walk_in.html", context)
