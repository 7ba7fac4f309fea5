"""The product reference tables for the nightly scoring: ``products``, ``accounts``, ``ebanking``
and ``payroll`` in ``lake/ref/``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from qiao.analytics.lake import write_ref_table
from qiao.core.refs import ref_table
from qiao.products.models import Account, EBankingService, PayrollRelation, Product

_S, _D = pa.string(), pa.date32()

# Field (as ``values_list`` names it) → column and type of the table.
_ACCOUNTS = {
    "account_no": ("account_no", _S),
    "customer__customer_no": ("customer_no", _S),
    "product__code": ("product_code", _S),
    "open_date": ("open_date", _D),
    "maturity_date": ("maturity_date", _D),
    "close_date": ("close_date", _D),
    "status": ("status", _S),
    "balance": ("balance", pa.decimal128(18, 2)),
}
_PRODUCTS = {
    "code": ("product_code", _S),
    "name": ("name", _S),
    "category": ("category", _S),
    "risk_level": ("risk_level", _S),
    "motives": ("motives", _S),
    "term_days": ("term_days", pa.int64()),
    "rate": ("rate", pa.float64()),
}
_EBANKING = {
    "customer__customer_no": ("customer_no", _S),
    "service": ("service", _S),
    "opened_date": ("opened_date", _D),
    "activated_date": ("activated_date", _D),
    "closed_date": ("closed_date", _D),
    "source": ("source", _S),
}
_PAYROLL = {
    "customer__customer_no": ("customer_no", _S),
    "account__account_no": ("account_no", _S),
    "relation_type": ("relation_type", _S),
    "start_date": ("start_date", _D),
    "end_date": ("end_date", _D),
}


def products_export_refs(*, lake: Path) -> None:
    products = [
        (
            code,
            name,
            category,
            risk or None,
            motives or "",
            term,
            None if rate is None else float(rate),
        )
        for code, name, category, risk, motives, term, rate in Product.objects.values_list(
            *_PRODUCTS
        )
    ]
    write_ref_table(lake, "products", ref_table(products, list(_PRODUCTS.values())))
    for name, model, fields in (
        ("accounts", Account, _ACCOUNTS),
        ("ebanking", EBankingService, _EBANKING),
        ("payroll", PayrollRelation, _PAYROLL),
    ):
        rows = list(model.objects.values_list(*fields).iterator(chunk_size=20000))
        write_ref_table(lake, name, ref_table(rows, list(fields.values())))
