"""A customer's rules, shared by ingest (the ``customers`` extract) and profile editing: each
field's rule (:data:`CUSTOMER_FIELDS`) and the rules across fields.

Each rule across fields takes a record (field → cleaned value) and returns ``(field, reason)`` pairs; it may
normalise values in the record (the ID number, the birth date and gender derived from a resident ID).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.utils.translation import gettext as _

from qiao.core import validators as v
from qiao.core import vocab
from qiao.core.vocab import Vocabulary

#: Whether a field is required, and the validator that cleans its text.
FieldRule = tuple[bool, Callable[[str], Any]]


def _enum(vocabulary: Vocabulary) -> Callable[[str], str]:
    return partial(v.clean_enum, choices=vocabulary.codes)


_text = partial(v.clean_text, max_length=200)

#: Every field of a customer, as the ``customers`` extract has it (docs/data-interface.md): the
#: one list of a customer's fields. The profile editor (``PROFILE_FIELDS``, in this order), the
#: ingest, the demo bank and the API's customer detail take theirs from it, and
#: ``tests/test_vocab.py`` fails when the list is written again.
CUSTOMER_FIELDS: dict[str, FieldRule] = {
    "customer_no": (True, v.clean_code),
    "customer_type": (True, _enum(vocab.CUSTOMER_TYPES)),
    "name": (True, v.clean_text),
    "id_type": (True, _enum(vocab.ID_TYPES)),
    "id_no": (True, v.clean_text),  # checked against id_type by customer_identity_rule
    "gender": (False, _enum(vocab.GENDERS)),
    "birth_date": (False, v.clean_past_date),
    "mobile": (False, v.clean_mobile),
    "landline": (False, v.clean_landline),
    "email": (False, v.clean_email),
    "address": (False, partial(v.clean_text, max_length=300)),
    "postal_code": (False, v.clean_postal_code),
    "occupation": (False, partial(v.clean_text, max_length=100)),
    "industry": (False, partial(v.clean_text, max_length=100)),
    "education": (False, partial(v.clean_text, max_length=50)),
    "school": (False, partial(v.clean_text, max_length=100)),
    "tax_record": (False, _text),
    "branch_code": (True, v.clean_code),
    "open_date": (True, v.clean_past_date),
    "marital_status": (False, _enum(vocab.MARITAL_STATUSES)),
    "family_notes": (False, partial(v.clean_text, max_length=2000)),
    "investment_pref": (False, _text),
    "product_pref": (False, _text),
    "marketing_pref": (False, _text),
    "hobbies": (False, _text),
    "annual_income": (False, v.clean_amount),
    "legal_rep": (False, partial(v.clean_text, max_length=100)),
    "ownership_type": (False, _enum(vocab.OWNERSHIP_TYPES)),
    "size_class": (False, _enum(vocab.SIZE_CLASSES)),
    "registered_capital": (False, v.clean_amount),
    "main_business": (False, partial(v.clean_text, max_length=300)),
}

#: The fields only core banking sets: the profile editor leaves them alone.
CORE_BANKING_FIELDS = frozenset({"customer_no", "customer_type", "branch_code", "open_date"})

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
