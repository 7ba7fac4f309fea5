"""The product shelf's pages: the catalogue (every staff role), a product's page (rate history,
holders and suited customers in the viewer's scope), and the product manager's edit pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from qiao.audit.services import audit_list_shown
from qiao.org.models import Staff
from qiao.org.permissions import EDIT_PRODUCTS, VIEW_BALANCES, require_perm, staff_has_perm
from qiao.suitability.shelf import (
    SHOWN,
    SUITED_CANDIDATES,
    product_get,
    product_page_lists,
    product_rates,
    products_filter,
    verdict_text,
)
from qiao.suitability.shelf_forms import ProductForm, ShelfFilterForm
from qiao.suitability.shelf_services import product_create, product_update


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@login_required
@require_GET
def shelf(request: HttpRequest) -> HttpResponse:
    staff: Staff = request.user  # type: ignore[assignment]
    form = ShelfFilterForm(request.GET or None)
    page = Paginator(products_filter(filters=form.filters()), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "can_edit": staff_has_perm(staff, EDIT_PRODUCTS),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "suitability/_shelf_results.html", context)
    return render(request, "suitability/shelf.html", context)


@login_required
@require_GET
def product_detail(request: HttpRequest, code: str) -> HttpResponse:
    staff: Staff = request.user  # type: ignore[assignment]
    product = product_get(code=code)
    today = timezone.localdate()
    holders, more, suited = product_page_lists(staff=staff, product=product, on=today)
    # Every customer shown is audited, as on the list pages (docs/privacy.md).
    detail = {"page": "product", "product": product.code}
    audit_list_shown(
        request_or_staff=request,
        customer_nos=(c.customer_no for c in [h.customer for h in holders] + suited),
        detail=detail,
    )
    context = {
        "product": product,
        "rates": product_rates(product=product),
        "holders": [(h, verdict_text(h.verdict)) for h in holders],
        "more_holders": more,
        "suited": suited,
        "shown": SHOWN,
        "candidates": SUITED_CANDIDATES,
        "show_balances": staff_has_perm(staff, VIEW_BALANCES),
        "can_edit": staff_has_perm(staff, EDIT_PRODUCTS),
    }
    return render(request, "suitability/product.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    staff: Staff = request.user  # type: ignore[assignment]
    require_perm(staff, EDIT_PRODUCTS)
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        code = data.pop("code")
        try:
            product = product_create(by=staff, code=code, data=data, ip=_ip(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Product %(name)s added.") % {"name": product.name})
            return redirect("shelf:product", code=product.code)
    status = 400 if form.errors else 200
    return render(request, "suitability/product_edit.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, code: str) -> HttpResponse:
    staff: Staff = request.user  # type: ignore[assignment]
    require_perm(staff, EDIT_PRODUCTS)
    product = product_get(code=code)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("code", None)
        try:
            changes = product_update(product=product, by=staff, data=data, ip=_ip(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if changes:
                messages.success(request, _("Product %(name)s saved.") % {"name": product.name})
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("shelf:product", code=product.code)
    status = 400 if form.errors else 200
    context = {"form": form, "product": product}
    return render(request, "suitability/product_edit.html", context, status=status)
