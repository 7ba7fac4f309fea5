"""Cells for CSV and spreadsheet files that a spreadsheet will not run as formulas.

Excel, LibreOffice and WPS treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some
versions, a tab or a carriage return) as a formula: a customer named ``=HYPERLINK("http://…")``
becomes a link that leaks the sheet, ``=cmd|' /C calc'!A0`` a DDE call (CWE-1236, OWASP "CSV
injection"). Every cell of every file Qiao writes for a person to open goes through
:func:`csv_safe`, which prefixes such a cell with ``'``: spreadsheets show the text as typed and do
not evaluate it; the apostrophe is visible in a text editor, which is the accepted price.

A plain negative number (``-1234.50``) is left alone: a spreadsheet reads it as the number it is,
never as a formula, and amounts must stay numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: A cell starting with one of these is read as a formula by some spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"-\d+(?:\.\d+)?")


def csv_safe(value: object) -> str:
    """``value`` as text a spreadsheet shows as typed: ``'`` before a formula-like start."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_safe_row(values: Iterable[object]) -> list[str]:
    """Every cell of a row through :func:`csv_safe` (give this to ``csv.writer.writerow``)."""
    return [csv_safe(v) for v in values]
