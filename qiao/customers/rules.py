"""Rules across a customer's fields, shared by ingest (row rules) and profile editing.

Each rule takes a record (field → cleaned value) and returns ``(field, reason)`` pairs; it may
normalise values in the record (the ID number, the birth date and gender derived from a resident ID).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from qiao.core import validators as v

#: The fields holding a person's or company's name: none may start like a spreadsheet formula.
NAME_FIELDS = ("name", "legal_rep")


def customer_names_rule(r: dict[str, Any]) -> list[tuple[str, str]]:
    """Names (``name``, ``legal_rep``) that are present pass :func:`qiao.core.validators.clean_name`."""
    errors: list[tuple[str, str]] = []
    for field in NAME_FIELDS:
        if r.get(field):
            try:
                v.clean_name(r[field], max_length=max(200, len(str(r[field]))))
            except v.FieldError as exc:
                errors.append((field, str(exc.reason)))
    return errors


def customer_identity_rule(r: dict[str, Any]) -> list[tuple[str, str]]:
    """Names (:func:`customer_names_rule`); ID number by ID type; type against customer type;
    birth date and gender from a resident ID.

    Birth date and gender of a resident-ID holder are derived from the ID, never typed in
    (compliance R17): when absent they are filled in, when given they must agree.
    """
    errors = customer_names_rule(r)
    id_type, ctype = r["id_type"], r["customer_type"]
    try:
        if id_type == "RIC":
            r["id_no"] = v.clean_resident_id(r["id_no"])
        elif id_type == "USCC":
            r["id_no"] = v.clean_credit_code(r["id_no"])
        else:
            r["id_no"] = v.clean_other_id(r["id_no"])
    except v.FieldError as exc:
        return [*errors, ("id_no", str(exc.reason))]
    if ctype == "P" and id_type == "USCC":
        errors.append(("id_type", _("an individual cannot have a unified social credit code")))
    if ctype == "C" and id_type == "RIC":
        errors.append(("id_type", _("a company cannot have a resident ID")))
    if id_type == "RIC":
        born, gender = v.ric_birth_date(r["id_no"]), v.ric_gender(r["id_no"])
        if r.get("birth_date") and r["birth_date"] != born:
            errors.append(
                ("birth_date", _("does not match the resident ID (%(date)s)") % {"date": born})
            )
        if r.get("gender") and r["gender"] != gender:
            errors.append(("gender", _("does not match the resident ID")))
        if not r.get("birth_date"):
            r["birth_date"] = born
        if not r.get("gender"):
            r["gender"] = gender
    if r.get("birth_date") and r.get("open_date") and r["open_date"] < r["birth_date"]:
        errors.append(("open_date", _("is before the birth date")))
    return errors
