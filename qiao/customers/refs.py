"""The customers reference table for the nightly scoring (``lake/ref/customers.parquet``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from qiao.analytics.lake import write_ref_table
from qiao.core.refs import ref_table
from qiao.customers.models import Customer

_S, _D = pa.string(), pa.date32()

#: Field of ``Customer`` (as ``values_list`` names it) → column and type of the table.
_CUSTOMERS = {
    "customer_no": ("customer_no", _S),
    "customer_type": ("customer_type", _S),
    "birth_date": ("birth_date", _D),
    "gender": ("gender", _S),
    "occupation": ("occupation", _S),
    "industry": ("industry", _S),
    "branch__code": ("branch_code", _S),
    "open_date": ("open_date", _D),
    "size_class": ("size_class", _S),
}


def customers_export_refs(*, lake: Path) -> None:
    rows = list(Customer.objects.values_list(*_CUSTOMERS).iterator(chunk_size=20000))
    write_ref_table(lake, "customers", ref_table(rows, list(_CUSTOMERS.values())))
