"""The contact history for the nightly scoring (``lake/ref/contacts.parquet``): one row per
contact, on its local day."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from django.utils import timezone

from qiao.analytics.lake import write_ref_table
from qiao.core.refs import ref_table
from qiao.engagement.models import Contact


def contacts_export_refs(*, lake: Path) -> None:
    rows = [
        (customer_no, timezone.localtime(at).date(), channel)
        for customer_no, at, channel in Contact.objects.values_list(
            "customer__customer_no", "at", "channel"
        ).iterator(chunk_size=20000)
    ]
    columns = [
        ("customer_no", pa.string()),
        ("contact_date", pa.date32()),
        ("channel", pa.string()),
    ]
    write_ref_table(lake, "contacts", ref_table(rows, columns))
