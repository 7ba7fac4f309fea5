"""Reads of customers go through these selectors; the data scope lives here and only here.

One mechanism for every page, API endpoint, search, export and chart:

- a customer manager (CM, senior CM) sees the customers they own, as primary or secondary manager;
- a team lead or outlet head sees every customer of their organisation subtree;
- head-office roles (product and risk managers, analysts, administrators, auditors) see all;
- a lobby manager or teller sees nobody through these selectors: referrals use
  :func:`customer_lookup_for_referral`, which reveals only what a referral needs.

Out of scope is indistinguishable from missing: :func:`customer_get_for_staff` raises ``Http404``.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from qiao.customers.models import Customer, Ownership
from qiao.org.models import BANKWIDE_ROLES, OWNER_ROLES, SUBTREE_ROLES, Role, Staff


def staff_scope_q(staff: Staff) -> Q | None:
    """The filter for the customers ``staff`` may see; ``None`` means all of them."""
    if not staff.is_active:
        return Q(pk__in=[])
    if staff.is_superuser or staff.role in BANKWIDE_ROLES:
        return None
    if staff.role in SUBTREE_ROLES and staff.unit_id is not None:
        return Q(branch__path__startswith=staff.unit.path)
    if staff.role in OWNER_ROLES:
        owns = Ownership.objects.filter(
            customer=OuterRef("pk"), staff=staff, end_date__isnull=True
        )
        return Q(primary_manager=staff) | Q(Exists(owns))
    return Q(pk__in=[])


def customers_visible_to(*, staff: Staff) -> QuerySet[Customer]:
    qs = Customer.objects.all()
    scope = staff_scope_q(staff)
    return qs if scope is None else qs.filter(scope)


def customer_get_for_staff(*, staff: Staff, customer_no: str) -> Customer:
    """The customer, if ``staff`` may see them; ``Http404`` whether missing or out of scope."""
    customer = (
        customers_visible_to(staff=staff)
        .select_related("branch", "primary_manager")
        .filter(customer_no=customer_no)
        .first()
    )
    if customer is None:
        raise Http404("No customer matches the given query.")
    return customer


def customer_lookup_for_referral(*, staff: Staff, customer_no: str) -> Customer | None:
    """A lobby manager or teller refers a customer of their own outlet subtree to a CM.

    Returns the customer for the referral form (the caller shows name masked, tier and owner only).
    """
    if staff.role != Role.LOBBY and staff_scope_q(staff) is not None:
        return customers_visible_to(staff=staff).filter(customer_no=customer_no).first()
    unit_path = staff.unit.path if staff.unit_id else None
    qs = Customer.objects.filter(customer_no=customer_no)
    if staff.role == Role.LOBBY:
        if unit_path is None:
            return None
        # A lobby manager sits at an outlet: refer customers of the outlet's sub-branch.
        parent_path = "/".join(unit_path.rstrip("/").split("/")[:-1]) + "/"
        qs = qs.filter(branch__path__startswith=parent_path)
    return qs.first()
