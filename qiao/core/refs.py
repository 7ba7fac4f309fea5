"""Reference tables: the operational data the nightly scoring reads from ``lake/ref/``.

Each app writes its own tables (``customers``; ``products``, ``accounts``, ``ebanking``, ``payroll``;
``contacts``) in its ``refs.py`` and offers them through its app config's ``export_refs``. The
scoring asks every installed app (:func:`refs_export`) and so names none of them: the contact
history comes from ``qiao.engagement``, which stands above the scoring (its work list reads the
scores), without the scoring importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from qiao.core.extensions import app_configs_offering


@runtime_checkable
class ExportsRefs(Protocol):
    """An app config whose app writes reference tables."""

    def export_refs(self, lake: Path) -> None: ...


def refs_export(lake: Path) -> list[str]:
    """Every installed app writes its reference tables into ``lake``; returns the apps' labels."""
    done = []
    for config in app_configs_offering(ExportsRefs):
        config.export_refs(lake)
        done.append(config.label)
    return done


def ref_table(
    rows: Sequence[tuple[Any, ...]], columns: Sequence[tuple[str, pa.DataType]]
) -> pa.Table:
    """``rows`` (tuples in the order of ``columns``) as an Arrow table of those names and types."""
    values: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    return pa.table(
        {name: pa.array(list(col), typ) for (name, typ), col in zip(columns, values, strict=True)}
    )
