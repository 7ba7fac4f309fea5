"""Loading master data (everything but the lake kinds) into the operational database.

Each kind has row rules (checks across columns) and an applier that resolves references and
upserts by the natural key. Counts: *loaded* (new), *updated* (some value differs), *unchanged*.
Runs inside the caller's ``transaction.atomic``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from qiao.core import validators as v
from qiao.core.bulk import fast_insert
from qiao.core.suitability import effective_level
from qiao.customers.models import (
    Customer,
    CustomerChange,
    CustomerGroup,
    GroupMembership,
    Ownership,
    Relationship,
)
from qiao.customers.rules import CUSTOMER_FIELDS, customer_identity_rule
from qiao.customers.search import pinyin_keys
from qiao.customers.services import standings_create
from qiao.ingest.kinds import CORPORATE_SERVICES, LIABILITY, RATED, Kind
from qiao.org.models import LEVEL_DEPTH, OWNER_ROLES, OrgUnit, Staff
from qiao.products.models import (
    Account,
    EBankingService,
    Holding,
    PayrollRelation,
    Product,
    ProductRate,
    RateSource,
)


@dataclass
class Reject:
    line: int
    column: str
    value: str
    reason: str


@dataclass
class Counts:
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)


Record = dict[str, Any]

#: every character that ends a line somewhere (Python's str.splitlines, Unicode line breaking)
_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
#: the C1 control characters (U+0080–U+009F): invisible, and some drive terminals
_C1_CONTROL = re.compile("[\x80-\x84\x86-\x9f]")


def _line_break_name(ch: str) -> str:
    names = {
        "\n": _("line feed"),
        "\r": _("carriage return"),
        "\x0b": _("vertical tab"),
        "\x0c": _("form feed"),
        "\x85": _("next line"),
        "\u2028": _("line separator"),
        "\u2029": _("paragraph separator"),
    }
    return names.get(ch, _("information separator"))


def _one_line(cleaner: Callable[[str], Any]) -> Callable[[str], Any]:
    """The field's validator, after the rule every cell shares: a value is one line of visible
    text. (A newline is refused; so is every other character that breaks a line.)"""

    def clean(raw: str) -> Any:
        found = _LINE_BREAK.search(raw)
        if found is not None:
            ch = found.group()
            raise v.FieldError(
                _("contains a line break (U+%(code)04X, %(name)s); a value must be on one line")
                % {"code": ord(ch), "name": _line_break_name(ch)}
            )
        found = _C1_CONTROL.search(raw)
        if found is not None:
            raise v.FieldError(
                _("contains the control character U+%(code)04X") % {"code": ord(found.group())}
            )
        return cleaner(raw)

    return clean


def _clean_column(
    values: Sequence[str | None], cleaner: Callable[[str], Any]
) -> tuple[list[Any], list[int]]:
    """One column through its field's validator: the cleaned values and the rows that failed
    (their slot holds the :class:`~qiao.core.validators.FieldError`).

    Extract columns repeat themselves (customer type, branch, dates, occupations …): when at most
    half of the values are distinct, each distinct value is validated once. The validators are
    pure, so the result is the same as validating every cell.
    """

    def one(raw: str | None) -> Any:
        if raw is None:
            return None
        try:
            return cleaner(raw)
        except v.FieldError as exc:
            return exc

    distinct = dict.fromkeys(values)
    if 2 * len(distinct) <= len(values):
        for raw in distinct:
            distinct[raw] = one(raw)
        cleaned = list(map(distinct.__getitem__, values))
        failed_values = {raw for raw, out in distinct.items() if isinstance(out, v.FieldError)}
        failed = (
            [i for i, raw in enumerate(values) if raw in failed_values] if failed_values else []
        )
    else:
        cleaned = list(map(one, values))
        failed = [i for i, out in enumerate(cleaned) if isinstance(out, v.FieldError)]
    return cleaned, failed


def clean_rows(
    kind: Kind, texts: dict[str, list[str | None]], lines: Sequence[int]
) -> tuple[list[tuple[int, Record]], list[Reject]]:
    """Validate every cell with its field's validator and the kind's row rules.

    Column by column (each column's validator over all rows), then row by row for what needs the
    whole row: missing required values, the kind's row rules, duplicate keys within the file.
    """
    n = len(lines)
    empty: list[str | None] = [None] * n
    row_rule = ROW_RULES.get(kind.name)
    required_msg = _("is required")
    # Only the columns the file has (the header check guarantees the required ones are there):
    # optional columns a file leaves out cost nothing per row.
    names: list[str] = []
    columns: list[list[Any]] = []
    cell_errors: dict[int, list[Reject]] = {}
    for col, (required, cleaner) in kind.spec.items():
        if col not in texts and not required:
            continue
        raw = texts.get(col, empty)
        cleaned, failed = _clean_column(raw, _one_line(cleaner))
        for i in failed:
            reason = str(cleaned[i].reason)
            cell_errors.setdefault(i, []).append(Reject(lines[i], col, raw[i] or "", reason))
        if required:
            for i, value in enumerate(raw):
                if value is None:
                    cell_errors.setdefault(i, []).append(Reject(lines[i], col, "", required_msg))
        names.append(col)
        columns.append(cleaned)
    rows: list[tuple[int, Record]] = []
    rejects: list[Reject] = []
    seen: dict[tuple[Any, ...], int] = {}
    key_pos = [names.index(k) for k in kind.key]
    for i, values in enumerate(zip(*columns, strict=True)):
        line = lines[i]
        if i in cell_errors:
            # in the order of the kind's columns, as a person reads the row
            rejects.extend(sorted(cell_errors[i], key=lambda r: names.index(r.column)))
            continue
        record: Record = {c: x for c, x in zip(names, values, strict=True) if x is not None}
        if row_rule is not None:
            errors = row_rule(record)
            if errors:
                rejects.extend(Reject(line, c, str(record.get(c, "")), r) for c, r in errors)
                continue
        key = tuple(record.get(names[p]) for p in key_pos)
        if key in seen:
            rejects.append(
                Reject(
                    line,
                    kind.key[0],
                    str(key[0]),
                    _("the same %(key)s appears earlier in the file, on line %(line)d")
                    % {"key": ", ".join(kind.key), "line": seen[key]},
                )
            )
            continue
        seen[key] = line
        rows.append((line, record))
    return rows, rejects


# ---------------------------------------------------------------- row rules (across columns)

RowRule = Callable[[Record], list[tuple[str, str]]]


# Shared with profile editing (one rule, two callers): see qiao.customers.rules.
_customer_rule: RowRule = customer_identity_rule


def _not_before(later: str, earlier: str) -> RowRule:
    def rule(r: Record) -> list[tuple[str, str]]:
        if r.get(later) and r.get(earlier) and r[later] < r[earlier]:
            return [(later, _("is before %(col)s") % {"col": earlier})]
        return []

    return rule


def _all(*rules: RowRule) -> RowRule:
    return lambda r: [e for rule in rules for e in rule(r)]


def _product_rule(r: Record) -> list[tuple[str, str]]:
    errors = _not_before("maturity_date", "issue_date")(r)
    ratings = (r.get("issuer_risk_level"), r.get("seller_risk_level"))
    if r["category"] in RATED and not (r.get("risk_level") or any(ratings)):
        errors.append(("risk_level", _("is required for an investment product (R1–R5)")))
    if r.get("risk_level") and any(ratings) and r["risk_level"] != effective_level(*ratings):
        errors.append(
            (
                "risk_level",
                _("is not the higher of the issuer's and the bank's ratings (%(level)s)")
                % {"level": effective_level(*ratings)},
            )
        )
    return errors


def _account_rule(r: Record) -> list[tuple[str, str]]:
    errors = _all(
        _not_before("maturity_date", "open_date"), _not_before("close_date", "open_date")
    )(r)
    if r.get("status") == "CLOSED" and not r.get("close_date"):
        errors.append(("close_date", _("is required when the status is CLOSED")))
    return errors


def _relationship_rule(r: Record) -> list[tuple[str, str]]:
    if r["customer_no"] == r["related_customer_no"]:
        return [("related_customer_no", _("is the customer themself"))]
    return []


def _ebanking_rule(r: Record) -> list[tuple[str, str]]:
    errors = _all(
        _not_before("activated_date", "opened_date"), _not_before("closed_date", "opened_date")
    )(r)
    if r.get("recommended_by") and r.get("source") == "SELF":
        errors.append(("recommended_by", _("is given but the source is SELF")))
    return errors


def _assessment_rule(r: Record) -> list[tuple[str, str]]:
    errors = _not_before("valid_until", "assessed_on")(r)
    if r.get("signed") == "N":
        errors.append(
            ("signed", _("the customer has not signed: an unsigned assessment is not kept"))
        )
    return errors


def _contact_preference_rule(r: Record) -> list[tuple[str, str]]:
    from qiao.customers.consent_rules import dnd_problem

    problem = dnd_problem(r.get("dnd_start"), r.get("dnd_end"))
    if problem:
        return [("dnd_end" if r.get("dnd_start") else "dnd_start", problem)]
    return []


# Credit data (issue 16): the checks across columns; the classification check is not a reject
# (the loan is the bank's data: it is loaded and flagged, qiao.credit.services).
def _facility_rule(r: Record) -> list[tuple[str, str]]:
    errors = _not_before("end_date", "start_date")(r)
    if r.get("guarantee_type") == "CREDIT" and (r.get("collateral") or r.get("collateral_value")):
        errors.append(("collateral", _("is given but the facility is unsecured (CREDIT)")))
    return errors


def _loan_rule(r: Record) -> list[tuple[str, str]]:
    errors = _not_before("maturity_date", "start_date")(r)
    errors += _not_before("written_off_on", "start_date")(r)
    if r["start_date"] > r["as_of_date"]:
        errors.append(("start_date", _("is after as_of_date")))
    if r.get("written_off_on") and r["written_off_on"] > r["as_of_date"]:
        errors.append(("written_off_on", _("is after as_of_date")))
    return errors


def _guarantee_rule(r: Record) -> list[tuple[str, str]]:
    errors = _not_before("end_date", "start_date")(r)
    if r["guarantor_customer_no"] == r["borrower_customer_no"]:
        errors.append(("borrower_customer_no", _("is the guarantor themself")))
    return errors


ROW_RULES: dict[str, RowRule] = {
    "customers": _customer_rule,
    "products": _product_rule,
    "accounts": _account_rule,
    "relationships": _relationship_rule,
    "ebanking": _ebanking_rule,
    "payroll": _not_before("end_date", "start_date"),
    "ownership": _not_before("end_date", "start_date"),
    "staff": _not_before("leave_date", "hire_date"),
    "assessments": _assessment_rule,
    "facilities": _facility_rule,
    "loans": _loan_rule,
    "guarantees": _guarantee_rule,
    "list_entries": _not_before("removed_on", "listed_on"),
    "contact_preferences": _contact_preference_rule,
}


# ---------------------------------------------------------------- upsert machinery


def _chunks(items: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _AnyOf(models.Lookup):
    """``field = ANY(%s)`` with the values as one array parameter (PostgreSQL).

    ``field__in`` costs Django and the driver work per value (100,000 keys: ~1 s of query
    building); an array is one parameter.
    """

    lookup_name = "qiao_any"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, list(self.rhs))


models.Field.register_lookup(_AnyOf)


def _where_in(
    queryset: models.QuerySet[Any], field_name: str, values: Sequence[Any]
) -> Iterator[models.QuerySet[Any]]:
    """``queryset`` filtered to ``field_name`` in ``values``, as few queries as the database
    allows: one array parameter per 100,000 values on PostgreSQL, 900 values a query on SQLite
    (older builds allow 999 parameters)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        field = queryset.model._meta.get_field(field_name)
        # A foreign key answers only related lookups: go through its target ("customer__id",
        # which Django resolves on the key column itself, without a join).
        path = f"{field.name}__{field.target_field.name}" if field.is_relation else field_name
        for chunk in _chunks(values, 100_000):
            yield queryset.filter(**{f"{path}__qiao_any": list(chunk)})
    else:
        for chunk in _chunks(values):
            yield queryset.filter(**{f"{field_name}__in": chunk})


def upsert(
    model: type[models.Model],
    key: Sequence[str],
    records: list[Record],
    counts: Counts,
    *,
    on_change: Callable[[models.Model, dict[str, tuple[Any, Any]]], None] | None = None,
    derive: Callable[[Record], Record] | None = None,
) -> list[Record]:
    """Insert new rows, update changed ones (only the fields given), count unchanged ones.

    ``records`` map model attribute names to values; ``None`` means "not given" and leaves the
    stored value as it is. Stored rows are compared as plain value tuples (one query per 900 keys,
    no model instances); only the rows that changed are loaded as objects, passed to
    ``on_change`` with their ``{field: (old, new)}`` and saved. ``derive`` computes fields that
    follow from the given ones (search keys): for new rows, and for rows whose given fields
    changed. Returns the records inserted.
    """
    if not records:
        return []
    # Foreign keys are compared and written by their ``*_id`` attribute: no query per row.
    # Records of one call share their keys, so the foreign-key fields are found once.
    relations = {f.name for f in model._meta.concrete_fields if f.is_relation}
    fk_fields = [f for f in records[0] if f in relations]
    if fk_fields:
        converted = []
        for rec in records:
            rec = dict(rec)
            for f in fk_fields:
                val = rec.pop(f)
                rec[f + "_id"] = val.pk if isinstance(val, models.Model) else val
            converted.append(rec)
        records = converted
    first, width = key[0], len(key)
    compare = [f for f in records[0] if f not in key]
    stored: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    manager = model._default_manager
    for qs in _where_in(manager.all(), first, sorted({r[first] for r in records})):
        for row in qs.values_list("pk", *key, *compare):
            stored[row[1 : 1 + width]] = row
    new_objs: list[Record] = []
    new_keys: set[tuple[Any, ...]] = set()
    changed: dict[Any, tuple[Record, dict[str, tuple[Any, Any]]]] = {}
    for rec in records:
        k = tuple(rec[f] for f in key)
        row = stored.get(k)
        if row is None:
            if k in new_keys:  # a later duplicate key in the same batch counts as unchanged
                counts.unchanged += 1
            else:
                new_keys.add(k)
                new_objs.append(rec)
            continue
        # Equality of stored and given values (Decimal("1.10") == Decimal("1.1")); None = not given.
        diff = {
            f: (old, val)
            for f, old in zip(compare, row[1 + width :], strict=True)
            if (val := rec.get(f)) is not None and old != val
        }
        pk = row[0]
        if diff:
            if pk not in changed:
                changed[pk] = (rec, {})
                counts.updated += 1
            changed[pk][1].update(diff)
        elif pk not in changed:
            counts.unchanged += 1
    if new_objs:
        fast_insert(model, new_objs, derive=derive)
        counts.loaded += len(new_objs)
    if changed:
        objs = manager.in_bulk(list(changed))
        fields: set[str] = set()
        for pk, (rec, diff) in changed.items():
            obj = objs[pk]
            if derive is not None:
                for f, val in derive(rec).items():
                    if getattr(obj, f) != val:
                        diff[f] = (getattr(obj, f), val)
            if on_change is not None:
                on_change(obj, diff)
            for f, (_old, val) in diff.items():
                setattr(obj, f, val)
            fields.update(diff)
        manager.bulk_update(list(objs.values()), sorted(fields), batch_size=500)
    return new_objs


def _lookup(model: type[models.Model], field_name: str, values: Iterable[str]) -> dict[str, Any]:
    wanted = sorted(set(values))
    found: dict[str, Any] = {}
    for qs in _where_in(model._default_manager.all(), field_name, wanted):
        for obj in qs:
            found[getattr(obj, field_name)] = obj
    return found


def _resolve(
    rows: list[tuple[int, Record]],
    counts: Counts,
    column: str,
    table: dict[str, Any],
    message: str,
) -> list[tuple[int, Record]]:
    kept = []
    for line, rec in rows:
        if rec.get(column) is not None and rec[column] not in table:
            counts.rejects.append(Reject(line, column, rec[column], message))
        else:
            kept.append((line, rec))
    return kept


# ---------------------------------------------------------------- appliers, one per kind


def apply_org_units(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    units = {u.code: u for u in OrgUnit.objects.all()}
    levels = {code: u.level for code, u in units.items()}
    levels.update({r["unit_code"]: r["level"] for _l, r in rows})
    # Parents first: sort by depth in the tree.
    ordered = sorted(rows, key=lambda lr: LEVEL_DEPTH[lr[1]["level"]])
    for line, r in ordered:
        parent = None
        if r["level"] == "HEAD_OFFICE":
            if r.get("parent_code"):
                counts.rejects.append(
                    Reject(line, "parent_code", r["parent_code"], _("a head office has no parent"))
                )
                continue
        else:
            parent = units.get(r.get("parent_code") or "")
            if parent is None:
                counts.rejects.append(
                    Reject(
                        line,
                        "parent_code",
                        r.get("parent_code") or "",
                        _("is not a known organisation unit"),
                    )
                )
                continue
            if LEVEL_DEPTH[parent.level] != LEVEL_DEPTH[r["level"]] - 1:
                counts.rejects.append(
                    Reject(
                        line,
                        "parent_code",
                        parent.code,
                        _("is not one level above a %(level)s") % {"level": r["level"]},
                    )
                )
                continue
        path = (parent.path if parent else "/") + r["unit_code"] + "/"
        rec = {
            "code": r["unit_code"],
            "name": r["name"],
            "level": r["level"],
            "parent": parent,
            "path": path,
            "address": r.get("address"),
        }
        upsert(OrgUnit, ["code"], [rec], counts)
        units[r["unit_code"]] = OrgUnit.objects.get(code=r["unit_code"])


def apply_staff(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    units = _lookup(OrgUnit, "code", (r["unit_code"] for _l, r in rows))
    rows = _resolve(rows, counts, "unit_code", units, _("is not a known organisation unit"))
    today = timezone.localdate()
    records = []
    for _line, r in rows:
        left = r.get("leave_date") is not None and r["leave_date"] <= today
        records.append(
            {
                "username": r["staff_no"],
                "name": r["name"],
                "role": r["role"],
                "unit": units[r["unit_code"]],
                "grade": r.get("grade"),
                "mobile": r.get("mobile"),
                "email": r.get("email"),
                "hire_date": r.get("hire_date"),
                "leave_date": r.get("leave_date"),
                "is_active": not left,
            }
        )
    upsert(Staff, ["username"], records, counts)
    # New staff cannot log in until an administrator sets a password (or the demo does).
    fresh = list(Staff.objects.filter(username__in=[r["username"] for r in records], password=""))
    for member in fresh:
        member.set_unusable_password()
    Staff.objects.bulk_update(fresh, ["password"])


def apply_products(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    """Products by code. Where the issuer's or the bank's rating is given, the level that applies
    is the higher of the two (a rating not in the file keeps its stored value); a rate that differs
    from the product's last recorded rate (or a product's first) is added to the rate history
    (source ``LOAD``, from the day of the load): loading the same file again adds nothing."""
    codes = [r["product_code"] for _l, r in rows]
    stored: dict[str, tuple[str, str]] = {}
    for qs in _where_in(Product.objects.all(), "code", sorted(set(codes))):
        for code, issuer, seller in qs.values_list(
            "code", "issuer_risk_level", "seller_risk_level"
        ):
            stored[code] = (issuer, seller)
    records = []
    for _l, r in rows:
        level = r.get("risk_level")
        if r.get("issuer_risk_level") or r.get("seller_risk_level"):
            issuer, seller = stored.get(r["product_code"], ("", ""))
            level = effective_level(
                r.get("issuer_risk_level") or issuer, r.get("seller_risk_level") or seller
            )
        private = r.get("private")
        records.append(
            {
                "code": r["product_code"],
                "name": r["name"],
                "category": r["category"],
                "risk_level": level,
                "issuer_risk_level": r.get("issuer_risk_level"),
                "seller_risk_level": r.get("seller_risk_level"),
                "issuer": r.get("issuer"),
                "private": None if private is None else private == "Y",
                "currency": r.get("currency"),
                "sale_status": r.get("sale_status"),
                "min_amount": r.get("min_amount"),
                "term_days": r.get("term_days"),
                "issue_date": r.get("issue_date"),
                "maturity_date": r.get("maturity_date"),
                "motives": r.get("motives"),
                "rate": r.get("rate"),
            }
        )
    upsert(Product, ["code"], records, counts)
    _record_rates(records)


def _record_rates(records: list[Record]) -> None:
    rates = {rec["code"]: rec["rate"] for rec in records if rec["rate"] is not None}
    if not rates:
        return
    ids = dict(Product.objects.filter(code__in=list(rates)).values_list("code", "pk"))
    last: dict[int, Any] = {}
    for pid, rate in (
        ProductRate.objects.filter(product_id__in=list(ids.values()))
        .order_by("product_id", "-effective", "-id")
        .values_list("product_id", "rate")
    ):
        last.setdefault(pid, rate)
    today = timezone.localdate()
    ProductRate.objects.bulk_create(
        [
            ProductRate(product_id=ids[code], effective=today, rate=rate, source=RateSource.LOAD)
            for code, rate in rates.items()
            if code in ids and last.get(ids[code]) != rate
        ]
    )


#: The customer fields stored as they come: all but the key and the outlet (a code, stored as
#: the unit's id).
CUSTOMER_COLUMNS = tuple(f for f in CUSTOMER_FIELDS if f not in {"customer_no", "branch_code"})


def apply_customers(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    units = _lookup(OrgUnit, "code", (r["branch_code"] for _l, r in rows))
    rows = _resolve(rows, counts, "branch_code", units, _("is not a known organisation unit"))
    unit_pk = {code: unit.pk for code, unit in units.items()}
    records = [
        {
            "customer_no": r["customer_no"],
            "branch_id": unit_pk[r["branch_code"]],
            **{f: r.get(f) for f in CUSTOMER_COLUMNS},
        }
        for _line, r in rows
    ]
    changes: list[CustomerChange] = []

    def track(obj: Any, diff: dict[str, tuple[Any, Any]]) -> None:
        for f, (old, new) in diff.items():
            if f in CUSTOMER_COLUMNS or f == "branch_id":
                if f == "branch_id":  # shown as the outlet's code, as in the extract
                    old, new = _unit_code(old), _unit_code(new)
                changes.append(
                    CustomerChange(
                        customer=obj,
                        field="branch" if f == "branch_id" else f,
                        old_value=_show(old),
                        new_value=_show(new),
                        changed_by=by,
                        source="INGEST",
                    )
                )

    new = upsert(Customer, ["customer_no"], records, counts, on_change=track, derive=_search_keys)
    if new:
        created: list[int] = []
        for qs in _where_in(Customer.objects.all(), "customer_no", [r["customer_no"] for r in new]):
            created += qs.values_list("pk", flat=True)
        standings_create(customer_ids=sorted(created))
    CustomerChange.objects.bulk_create(changes, batch_size=1000)


def _search_keys(rec: Record) -> Record:
    """The columns search looks up, derived from the name and the ID number."""
    full, initials = pinyin_keys(rec["name"])
    id_no = rec["id_no"]
    return {
        "name_pinyin": full,
        "name_initials": initials,
        "id_tail4": id_no[-4:],
        "id_tail6": id_no[-6:],
    }


def _unit_code(pk: Any) -> str:
    return str(OrgUnit.objects.filter(pk=pk).values_list("code", flat=True).first() or "")


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, OrgUnit):
        return value.code
    return str(value)


def apply_groups(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    group_counts = Counts()
    groups = {}
    for _l, r in rows:
        groups[r["group_code"]] = {"code": r["group_code"], "name": r["group_name"]}
    upsert(CustomerGroup, ["code"], list(groups.values()), group_counts)
    by_code = {g.code: g for g in CustomerGroup.objects.filter(code__in=list(groups))}
    records = [
        {
            "group": by_code[r["group_code"]],
            "customer": customers[r["customer_no"]],
            "member_role": r["member_role"],
            "link_type": r["link_type"],
            "equity_pct": r.get("equity_pct"),
        }
        for _l, r in rows
    ]
    upsert(GroupMembership, ["group_id", "customer_id"], records, counts)


def apply_relationships(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    customers = _lookup(
        Customer,
        "customer_no",
        [r["customer_no"] for _l, r in rows] + [r["related_customer_no"] for _l, r in rows],
    )
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    rows = _resolve(rows, counts, "related_customer_no", customers, _("is not a known customer"))
    records = [
        {
            "customer": customers[r["customer_no"]],
            "related": customers[r["related_customer_no"]],
            "relation": r["relation"],
            "note": r.get("note"),
        }
        for _l, r in rows
    ]
    upsert(Relationship, ["customer_id", "related_id", "relation"], records, counts)


def apply_accounts(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    products = _lookup(Product, "code", (r["product_code"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    rows = _resolve(rows, counts, "product_code", products, _("is not a known product"))
    existing = {
        a.account_no: a.customer_id
        for qs in _where_in(
            Account.objects.all(), "account_no", sorted({r["account_no"] for _l, r in rows})
        )
        for a in qs.only("account_no", "customer_id")
    }
    records = []
    for line, r in rows:
        owner = existing.get(r["account_no"])
        if owner is not None and owner != customers[r["customer_no"]].pk:
            counts.rejects.append(
                Reject(
                    line,
                    "customer_no",
                    r["customer_no"],
                    _("the account belongs to another customer"),
                )
            )
            continue
        records.append(
            {
                "account_no": r["account_no"],
                "customer": customers[r["customer_no"]],
                "product": products[r["product_code"]],
                "open_date": r["open_date"],
                "maturity_date": r.get("maturity_date"),
                "close_date": r.get("close_date"),
                "status": r.get("status"),
                "currency": r.get("currency"),
                "balance": r.get("balance"),
                "branch_code": r.get("branch_code"),
            }
        )
    upsert(Account, ["account_no"], records, counts)


def apply_holdings(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    accounts = _lookup(Account, "account_no", (r["account_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "account_no", accounts, _("is not a known account"))
    records = [
        {
            "account": accounts[r["account_no"]],
            "as_of_date": r["as_of_date"],
            "units": r["units"],
            "cost": r["cost"],
            "market_value": r["market_value"],
        }
        for _l, r in rows
    ]
    upsert(Holding, ["account_id", "as_of_date"], records, counts)


def apply_ebanking(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    records = []
    for line, r in rows:
        customer = customers[r["customer_no"]]
        if r["service"] in CORPORATE_SERVICES and customer.customer_type != "C":
            counts.rejects.append(
                Reject(
                    line,
                    "service",
                    r["service"],
                    _("is a corporate service but the customer is an individual"),
                )
            )
            continue
        records.append(
            {
                "customer": customer,
                "service": r["service"],
                "opened_date": r["opened_date"],
                "activated_date": r.get("activated_date"),
                "source": r.get("source"),
                "recommended_by": r.get("recommended_by"),
                "closed_date": r.get("closed_date"),
            }
        )
    upsert(EBankingService, ["customer_id", "service"], records, counts)


def apply_payroll(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    accounts = _lookup(Account, "account_no", (r["account_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    rows = _resolve(rows, counts, "account_no", accounts, _("is not a known account"))
    records = []
    for line, r in rows:
        account, customer = accounts[r["account_no"]], customers[r["customer_no"]]
        if account.customer_id != customer.pk:
            counts.rejects.append(
                Reject(line, "account_no", r["account_no"], _("is not an account of this customer"))
            )
            continue
        records.append(
            {
                "customer": customer,
                "account": account,
                "relation_type": r["relation_type"],
                "payer": r["payer"],
                "start_date": r["start_date"],
                "end_date": r.get("end_date"),
            }
        )
    upsert(PayrollRelation, ["account_id", "relation_type", "payer"], records, counts)


def apply_ownership(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    from qiao.customers.services import customers_refresh_primary_manager

    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    staff = _lookup(Staff, "username", (r["staff_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    rows = _resolve(rows, counts, "staff_no", staff, _("is not a known staff member"))
    records = []
    for line, r in rows:
        member = staff[r["staff_no"]]
        if member.role not in OWNER_ROLES:
            counts.rejects.append(
                Reject(
                    line,
                    "staff_no",
                    r["staff_no"],
                    _("is a %(role)s, who cannot own customers")
                    % {"role": member.get_role_display()},
                )
            )
            continue
        records.append(
            {
                "customer": customers[r["customer_no"]],
                "staff": member,
                "role": r["role"],
                "start_date": r["start_date"],
                "end_date": r.get("end_date"),
                "assigned_by": by,
            }
        )
    # Opening a new primary closes the customer's other open primary (one primary at a time).
    saved_counts = Counts()
    upsert(Ownership, ["customer_id", "staff_id", "role", "start_date"], records, saved_counts)
    counts.loaded += saved_counts.loaded
    counts.updated += saved_counts.updated
    counts.unchanged += saved_counts.unchanged
    touched = {rec["customer"].pk for rec in records}
    # Set-based, not an UPDATE per row: the newest open primary of each customer in this file
    # closes the customer's other open primaries that started on or before it.
    newest: dict[int, tuple[Any, int]] = {}
    for rec in records:
        if rec["role"] == "PRIMARY" and rec["end_date"] is None:
            cid = rec["customer"].pk
            if cid not in newest or rec["start_date"] >= newest[cid][0]:
                newest[cid] = (rec["start_date"], rec["staff"].pk)
    to_close: list[Ownership] = []
    ids = sorted(newest)
    open_primaries = Ownership.objects.filter(role="PRIMARY", end_date__isnull=True)
    for qs in _where_in(open_primaries, "customer_id", ids):
        for row in qs.only("id", "customer_id", "staff_id", "start_date"):
            start, staff_id = newest[row.customer_id]
            if row.staff_id != staff_id and row.start_date <= start:
                row.end_date = start
                to_close.append(row)
    Ownership.objects.bulk_update(to_close, ["end_date"], batch_size=1000)
    customers_refresh_primary_manager(customer_ids=touched)


def apply_assessments(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    """Risk assessments from core banking (source CORE), kept beside the branch's: one per
    customer and day; valid for the questionnaire's months when the file gives no end; 65+ on
    the day from the birth date (docs/suitability.md)."""
    from qiao.suitability.assessments import active_questionnaire, is_elderly, valid_until_for
    from qiao.suitability.models import AssessmentSource, RiskAssessment

    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    months = active_questionnaire().valid_months
    records = []
    for _line, r in rows:
        customer, day = customers[r["customer_no"]], r["assessed_on"]
        qualified = r.get("qualified_investor") == "Y"
        records.append(
            {
                "customer": customer,
                "assessed_on": day,
                "source": AssessmentSource.CORE,
                "tolerance": r["tolerance"],
                "score": r.get("score"),
                "valid_until": r.get("valid_until") or valid_until_for(day, months),
                "questionnaire_version": r.get("questionnaire_version") or "",
                "customer_signed": True,
                "qualified_investor": qualified,
                "qualified_evidence": (r.get("qualified_evidence") or "") if qualified else "",
                "elderly": is_elderly(customer, day),
            }
        )
    upsert(RiskAssessment, ["customer_id", "assessed_on", "source"], records, counts)


def _customer_pks(rows: list[tuple[int, Record]]) -> dict[str, int]:
    """customer_no → id for the file's customers (plain values: no Customer objects)."""
    found: dict[str, int] = {}
    nos = sorted({r["customer_no"] for _l, r in rows})
    for qs in _where_in(Customer.objects.all(), "customer_no", nos):
        found.update(qs.values_list("customer_no", "pk"))
    return found


def apply_consents(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    """Marketing consent per customer and channel (source ``CORE`` when the file gives none).

    The row is the channel's state as of its date: it replaces the stored state unless the stored
    one is newer (an older row is unchanged, so a late file never undoes a newer withdrawal or
    consent) or is a withdrawal of the same day (when in doubt, no consent). Every change is kept
    in the consent history, as the CM's changes are (docs/privacy.md, "Consent"). New rows and
    the history are written in bulk (``COPY`` on PostgreSQL).
    """
    from qiao.customers.models import Consent, ConsentChange

    customers = _customer_pks(rows)
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    stored: dict[tuple[int, str], tuple[Any, ...]] = {}
    columns = ("pk", "customer_id", "channel", "state", "on", "source", "evidence")
    for qs in _where_in(Consent.objects.all(), "customer_id", sorted(set(customers.values()))):
        for row in qs.values_list(*columns):
            stored[(row[1], row[2])] = row
    now = timezone.now()
    by_id = by.pk if by is not None else None
    new: list[Record] = []
    changed: list[Consent] = []
    history: list[Record] = []
    for _line, r in rows:
        cid, channel = customers[r["customer_no"]], r["channel"]
        state, on = r["state"], r["on"]
        source, evidence = r.get("source") or "CORE", r.get("evidence") or ""
        current = stored.get((cid, channel))
        values = {"state": state, "on": on, "source": source, "evidence": evidence}
        if current is None:
            old = ""
            new.append(
                {"customer_id": cid, "channel": channel, **values}
                | {"recorded_by_id": by_id, "recorded_at": now}
            )
        else:
            pk, _cid, _ch, old, stored_on, stored_source, stored_evidence = current
            if (
                on < stored_on
                or (on == stored_on and old == "WITHDRAWN" and state != "WITHDRAWN")
                or (old, stored_on, stored_source, stored_evidence) == (state, on, source, evidence)
            ):
                counts.unchanged += 1
                continue
            changed.append(Consent(pk=pk, **values, recorded_by_id=by_id, recorded_at=now))
        history.append(
            {"customer_id": cid, "channel": channel, "old_state": old, "new_state": state}
            | {"on": on, "source": source, "evidence": evidence, "by_id": by_id, "at": now}
        )
    fast_insert(Consent, new)
    Consent.objects.bulk_update(
        changed,
        ["state", "on", "source", "evidence", "recorded_by", "recorded_at"],
        batch_size=1000,
    )
    fast_insert(ConsentChange, history)
    counts.loaded += len(new)
    counts.updated += len(changed)


def apply_contact_preferences(
    rows: list[tuple[int, Record]], counts: Counts, by: Staff | None
) -> None:
    """Contact preferences per customer; an empty cell leaves the stored value (or the default,
    for a customer without preferences) as it is."""
    from qiao.customers.consent_rules import DEFAULT_PREF, dnd_problem
    from qiao.customers.models import ContactPreference

    fields = ("preferred_channel", "dnd_start", "dnd_end", "language", "time_zone")
    customers = _customer_pks(rows)
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    stored: dict[int, ContactPreference] = {}
    ids = sorted(set(customers.values()))
    for qs in _where_in(ContactPreference.objects.all(), "customer_id", ids):
        for pref in qs:
            stored[pref.customer_id] = pref
    now = timezone.now()
    new: list[ContactPreference] = []
    changed: list[ContactPreference] = []
    for line, r in rows:
        cid = customers[r["customer_no"]]
        current = stored.get(cid)
        before = {f: getattr(current or DEFAULT_PREF, f) for f in fields}
        after = {f: (r[f] if r.get(f) is not None else before[f]) for f in fields}
        problem = dnd_problem(after["dnd_start"], after["dnd_end"])
        if problem:
            counts.rejects.append(Reject(line, "dnd_start", str(r.get("dnd_start", "")), problem))
            continue
        if current is not None and after == before:
            counts.unchanged += 1
            continue
        target = current or ContactPreference(customer_id=cid)
        for f, value in after.items():
            setattr(target, f, value)
        target.updated_by, target.updated_at = by, now
        (changed if current is not None else new).append(target)
    ContactPreference.objects.bulk_create(new, batch_size=2000)
    ContactPreference.objects.bulk_update(
        changed, [*fields, "updated_by", "updated_at"], batch_size=1000
    )
    counts.loaded += len(new)
    counts.updated += len(changed)


def _owned_by(
    rows: list[tuple[int, Record]],
    counts: Counts,
    column: str,
    table: dict[str, Any],
    owner_column: str,
    customers: dict[str, Customer],
    message: str,
) -> list[tuple[int, Record]]:
    """The rows whose ``column`` (a facility, a loan) is not someone else's: the row's
    ``owner_column`` customer must be its customer."""
    kept = []
    for line, r in rows:
        ref = table.get(r.get(column) or "")
        if ref is not None and ref.customer_id != customers[r[owner_column]].pk:
            counts.rejects.append(Reject(line, column, r[column], message))
        else:
            kept.append((line, r))
    return kept


def apply_facilities(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    from qiao.credit.models import Facility

    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    stored = _lookup(Facility, "facility_no", (r["facility_no"] for _l, r in rows))
    rows = _owned_by(
        rows,
        counts,
        "facility_no",
        stored,
        "customer_no",
        customers,
        _("the facility belongs to another customer"),
    )
    records = [
        {
            "facility_no": r["facility_no"],
            "customer": customers[r["customer_no"]],
            "limit": r["limit"],
            "used": r.get("used"),
            "currency": r.get("currency"),
            "start_date": r["start_date"],
            "end_date": r["end_date"],
            "guarantee_type": r.get("guarantee_type"),
            "collateral": r.get("collateral"),
            "collateral_value": r.get("collateral_value"),
            "status": r.get("status"),
        }
        for _l, r in rows
    ]
    upsert(Facility, ["facility_no"], records, counts)


def apply_loans(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    """Loans as of their date. The classification is checked against the days overdue (the
    floors of qiao/credit/config/limits.toml): a loan classified better than its floor is loaded
    as the bank classified it and flagged, and so is a debtor whose loans are in different
    classes (qiao.credit.services.loan_findings_refresh). A row older than the state loaded is
    refused."""
    from qiao.credit.models import Facility, Loan
    from qiao.credit.rules import floor_class, is_below_floor
    from qiao.credit.services import loan_findings_refresh

    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    facilities = _lookup(
        Facility, "facility_no", (r["facility_no"] for _l, r in rows if r.get("facility_no"))
    )
    rows = _resolve(rows, counts, "facility_no", facilities, _("is not a known credit facility"))
    rows = _owned_by(
        rows,
        counts,
        "facility_no",
        facilities,
        "customer_no",
        customers,
        _("the facility belongs to another customer"),
    )
    products = _lookup(
        Product, "code", (r["product_code"] for _l, r in rows if r.get("product_code"))
    )
    rows = _resolve(rows, counts, "product_code", products, _("is not a known product"))
    stored = _lookup(Loan, "loan_no", (r["loan_no"] for _l, r in rows))
    rows = _owned_by(
        rows,
        counts,
        "loan_no",
        stored,
        "customer_no",
        customers,
        _("the loan belongs to another customer"),
    )
    records = []
    for line, r in rows:
        product = products.get(r.get("product_code") or "")
        if product is not None and product.category not in LIABILITY:
            counts.rejects.append(
                Reject(line, "product_code", r["product_code"], _("is not a loan product"))
            )
            continue
        known = stored.get(r["loan_no"])
        if known is not None and r["as_of_date"] < known.as_of:
            counts.rejects.append(
                Reject(
                    line,
                    "as_of_date",
                    r["as_of_date"].isoformat(),
                    _("is older than the state already loaded (as of %(date)s)")
                    % {"date": known.as_of.isoformat()},
                )
            )
            continue
        days = r.get("days_overdue") or 0
        floor = floor_class(days, r.get("interest_arrears") or 0)
        records.append(
            {
                "loan_no": r["loan_no"],
                "customer": customers[r["customer_no"]],
                "facility": facilities.get(r.get("facility_no") or ""),
                "product": product,
                "loan_type": r.get("loan_type"),
                "principal": r["principal"],
                "balance": r["balance"],
                "currency": r.get("currency"),
                "start_date": r["start_date"],
                "maturity_date": r["maturity_date"],
                "classification": r["classification"],
                "days_overdue": days,
                "interest_arrears": r.get("interest_arrears") or 0,
                "as_of": r["as_of_date"],
                "floor_class": floor,
                "below_floor": is_below_floor(r["classification"], floor),
                "written_off_on": r.get("written_off_on"),
            }
        )
    upsert(Loan, ["loan_no"], records, counts)
    loan_findings_refresh(customer_ids=sorted({rec["customer"].pk for rec in records}))


def apply_guarantees(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    from qiao.credit.models import Facility, Guarantee, Loan

    customers = _lookup(
        Customer,
        "customer_no",
        [r["guarantor_customer_no"] for _l, r in rows]
        + [r["borrower_customer_no"] for _l, r in rows],
    )
    unknown = _("is not a known customer")
    rows = _resolve(rows, counts, "guarantor_customer_no", customers, unknown)
    rows = _resolve(rows, counts, "borrower_customer_no", customers, unknown)
    loans = _lookup(Loan, "loan_no", (r["loan_no"] for _l, r in rows if r.get("loan_no")))
    rows = _resolve(rows, counts, "loan_no", loans, _("is not a known loan"))
    facilities = _lookup(
        Facility, "facility_no", (r["facility_no"] for _l, r in rows if r.get("facility_no"))
    )
    rows = _resolve(rows, counts, "facility_no", facilities, _("is not a known credit facility"))
    not_borrowers = _("belongs to another customer than the borrower")
    rows = _owned_by(
        rows, counts, "loan_no", loans, "borrower_customer_no", customers, not_borrowers
    )
    rows = _owned_by(
        rows, counts, "facility_no", facilities, "borrower_customer_no", customers, not_borrowers
    )
    records = [
        {
            "guarantee_no": r["guarantee_no"],
            "guarantor": customers[r["guarantor_customer_no"]],
            "borrower": customers[r["borrower_customer_no"]],
            "loan": loans.get(r.get("loan_no") or ""),
            "facility": facilities.get(r.get("facility_no") or ""),
            "amount": r["amount"],
            "guarantee_type": r.get("guarantee_type"),
            "start_date": r["start_date"],
            "end_date": r.get("end_date"),
        }
        for _l, r in rows
    ]
    upsert(Guarantee, ["guarantee_no"], records, counts)


def apply_risk_signals(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    from qiao.credit.models import RiskSignal

    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    records = [
        {
            "customer": customers[r["customer_no"]],
            "kind": r["kind"],
            "on": r["signal_date"],
            "source": r["source"],
            "detail": r.get("detail"),
        }
        for _l, r in rows
    ]
    upsert(RiskSignal, ["customer_id", "kind", "on", "source"], records, counts)


def apply_list_entries(rows: list[tuple[int, Record]], counts: Counts, by: Staff | None) -> None:
    """Black and red list entries kept in core banking (source CORE): in force from the day
    listed, removed from the day given. Entries proposed in Qiao are not touched."""
    from qiao.credit.models import ListEntry, ListSource, ListStatus

    customers = _lookup(Customer, "customer_no", (r["customer_no"] for _l, r in rows))
    rows = _resolve(rows, counts, "customer_no", customers, _("is not a known customer"))
    records = [
        {
            "customer": customers[r["customer_no"]],
            "list_kind": r["list_kind"],
            "source": ListSource.CORE,
            "reason": r["reason"],
            "listed_on": r["listed_on"],
            "removed_on": r.get("removed_on"),
            "status": ListStatus.REMOVED if r.get("removed_on") else ListStatus.APPROVED,
        }
        for _l, r in rows
    ]
    upsert(ListEntry, ["customer_id", "list_kind", "source"], records, counts)
    # Listed again in core banking: the earlier removal day no longer holds.
    relisted = sorted({rec["customer"].pk for rec in records if not rec["removed_on"]})
    stale = ListEntry.objects.filter(
        source=ListSource.CORE, status=ListStatus.APPROVED, removed_on__isnull=False
    )
    for qs in _where_in(stale, "customer_id", relisted):
        qs.update(removed_on=None)


APPLIERS: dict[str, Callable[[list[tuple[int, Record]], Counts, Staff | None], None]] = {
    "org_units": apply_org_units,
    "staff": apply_staff,
    "products": apply_products,
    "customers": apply_customers,
    "groups": apply_groups,
    "relationships": apply_relationships,
    "accounts": apply_accounts,
    "holdings": apply_holdings,
    "ebanking": apply_ebanking,
    "payroll": apply_payroll,
    "ownership": apply_ownership,
    "assessments": apply_assessments,
    "facilities": apply_facilities,
    "loans": apply_loans,
    "guarantees": apply_guarantees,
    "risk_signals": apply_risk_signals,
    "list_entries": apply_list_entries,
    "consents": apply_consents,
    "contact_preferences": apply_contact_preferences,
}
