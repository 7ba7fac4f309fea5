"""The consent page of a customer: the consent per channel, its history, and the contact
preferences, with a form for each (``/customers/<no>/consent/``).

Only staff with ``org.edit_consent`` open it (403); out of scope is 404, as missing. The services
(qiao.customers.consent) check and record every change and audit it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from qiao.audit.models import Action
from qiao.audit.services import audit_record
from qiao.core.errors import ApplicationError
from qiao.core.forms import BootstrapMixin
from qiao.customers.consent import consent_set, contact_panel, preference_set
from qiao.customers.consent_forms import ConsentForm, PreferenceForm
from qiao.customers.selectors import customer_get_for_staff
from qiao.org.http import StaffRequest
from qiao.org.permissions import EDIT_CONSENT, require_perm


def _place(form: BootstrapMixin, exc: ApplicationError) -> None:
    placed = False
    for name, message in exc.fields.items():
        if name in form.fields:  # type: ignore[attr-defined]
            form.add_error(name, str(message))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


@login_required
def consent_edit(request: StaffRequest, customer_no: str) -> HttpResponse:
    staff = request.user
    customer = customer_get_for_staff(staff=staff, customer_no=customer_no)
    require_perm(staff, EDIT_CONSENT)
    panel = contact_panel(customer, history=50)
    pref = panel["pref"]
    pref_initial = {
        "preferred_channel": pref.preferred_channel,
        "dnd_start": pref.dnd_start,
        "dnd_end": pref.dnd_end,
        "language": pref.language,
        "time_zone": pref.time_zone,
    }
    consent_form = ConsentForm(prefix="c")
    pref_form = PreferenceForm(prefix="p", initial=pref_initial)
    ip = request.META.get("REMOTE_ADDR")
    if request.method == "POST":
        if request.POST.get("form") == "preferences":
            pref_form = PreferenceForm(request.POST, prefix="p", initial=pref_initial)
            if pref_form.is_valid():
                data = pref_form.cleaned_data
                try:
                    preference_set(
                        staff=staff,
                        customer=customer,
                        preferred_channel=data["preferred_channel"],
                        dnd_start=data["dnd_start"],
                        dnd_end=data["dnd_end"],
                        language=data["language"],
                        time_zone=data["time_zone"],
                        ip=ip,
                        audit_channel="WEB",
                    )
                except ApplicationError as exc:
                    _place(pref_form, exc)
                else:
                    messages.success(request, _("Contact preferences saved."))
                    return redirect("customers:consent", customer.customer_no)
        else:
            consent_form = ConsentForm(request.POST, prefix="c")
            if consent_form.is_valid():
                data = consent_form.cleaned_data
                try:
                    consent = consent_set(
                        staff=staff,
                        customer=customer,
                        channel=data["channel"],
                        state=data["state"],
                        on=data["on"],
                        source="BRANCH",
                        evidence=data["evidence"],
                        ip=ip,
                        audit_channel="WEB",
                    )
                except ApplicationError as exc:
                    _place(consent_form, exc)
                else:
                    messages.success(
                        request,
                        _("%(channel)s: %(state)s since %(day)s.")
                        % {
                            "channel": consent.get_channel_display(),
                            "state": consent.get_state_display(),
                            "day": consent.on.isoformat(),
                        },
                    )
                    return redirect("customers:consent", customer.customer_no)
    else:
        audit_record(
            request_or_staff=request,
            action=Action.VIEW,
            customer_no=customer.customer_no,
            detail={"page": "consent"},
        )
    return render(
        request,
        "customers/consent.html",
        {
            "customer": customer,
            "contact": panel,
            "consent_form": consent_form,
            "pref_form": pref_form,
        },
    )
