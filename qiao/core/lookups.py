"""``field__among=ids``: a column equal to one of many integer ids, the ids bound as one value.

Django's ``__in`` writes one placeholder per value. For the hundreds to thousands of ids a page
sometimes tests at once (the product page's candidates, their assessments) that is costly twice:
Django prepares every value and builds the statement (~5 ms of Python for 900 ids), and PostgreSQL
parses and plans a 900-item list (~15 ms more), while ``column = ANY(%s)`` with the ids as one
array costs ~0.6 ms and ~1.7 ms (docs/workbench.md, "Session of 2026-12-06, afternoon"). It needs no
chunking: SQLite caps a statement's parameters (999 before 3.32), and here there is one.

- PostgreSQL: ``column = ANY(ARRAY(SELECT unnest(%s::bigint[])))``, the ids as one array
  literal, probed through the column's index;
- SQLite: ``column IN (SELECT value FROM json_each(%s))``, the ids as one JSON array;
- any other database: Django's ``IN`` list.

Registered on integer columns and foreign keys by :class:`qiao.core.apps.CoreConfig`. Only for
integers (primary keys, foreign keys): every value is passed through ``int`` first, so nothing but
digits reaches the statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import ForeignKey, IntegerField, Lookup
from django.db.models.sql.compiler import SQLCompiler


class Among(Lookup[Any]):
    lookup_name = "among"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[int]:
        if isinstance(self.rhs, str | bytes) or not isinstance(self.rhs, Iterable):
            raise TypeError("__among takes a list of integer ids")
        return sorted({int(v) for v in self.rhs})

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        # The column as Django's compiler writes it; the ids are bound, never written in.
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids: list[int] = self.rhs
        if not ids:
            # As ``__in=[]``: no row can match, so the query is not sent (``OR`` drops the
            # condition, ``NOT`` keeps every row) — a caller with nothing to look up costs nothing.
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            # The array as one text literal of the column's type: psycopg would otherwise look at
            # every id to choose the array's type (~1 ms per 1,000 ids). Behind ARRAY(SELECT …)
            # the planner does not see the ids: given 2,000 of them as a constant, it estimated
            # their index probes dearer than scanning a product's 100,000 accounts (13 ms against
            # 1.9 ms measured), and the assessments' probes took 17 ms against 3.6 ms.
            kind = self.lhs.output_field.cast_db_type(connection) or "bigint"
            literal = "{" + ",".join(map(str, ids)) + "}"
            return f"{lhs} = ANY(ARRAY(SELECT unnest(%s::{kind}[])))", (*lhs_params, literal)
        if connection.vendor == "sqlite":
            sql = f"{lhs} IN (SELECT value FROM json_each(%s))"  # noqa: S608
            return sql, (*lhs_params, json.dumps(ids))
        return f"{lhs} IN ({', '.join(['%s'] * len(ids))})", (*lhs_params, *ids)


def register() -> None:
    """Make ``__among`` available on integer fields (primary keys among them) and foreign keys."""
    IntegerField.register_lookup(Among)
    ForeignKey.register_lookup(Among)
