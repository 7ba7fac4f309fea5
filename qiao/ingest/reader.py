"""Reading extract files: kind from the file name, encoding detection, header checks, raw rows.

Every file is read into columns of text (``None`` for an empty cell) plus the line number of each
row, whatever its format; validation then works the same for CSV and Parquet.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.utils.translation import gettext as _

from qiao.ingest.kinds import KINDS, Kind


class FileRefused(Exception):
    """The whole file is refused (exit status 2, nothing changes): wrong header, encoding …"""


@dataclass
class RawFile:
    path: Path
    kind: Kind
    encoding: str
    sha256: str
    header: list[str]
    #: the known columns (text for CSV, typed for Parquet) and ``__line``, the row's line number
    table: pa.Table
    #: rows that could not even be split into the header's columns: (line, reason)
    broken: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def lines(self) -> list[int]:
        return [int(v) for v in self.table.column("__line").to_pylist()]

    def texts(self) -> dict[str, list[str | None]]:
        """Column name → text values (None for empty), for row-by-row validation."""
        return {
            name: _as_text(self.table.column(name))
            for name in self.table.column_names
            if name != "__line"
        }


def kind_for(path: Path) -> Kind:
    name = path.name.lower()
    # Longest prefix first, so that a future "balances_monthly" kind could not be shadowed.
    for kind in sorted(KINDS.values(), key=lambda k: -len(k.name)):
        if name.startswith(kind.name) and name.endswith((".csv", ".parquet")):
            return kind
    raise FileRefused(
        _(
            "%(file)s: the file name does not start with a known kind (%(kinds)s) or does not end in .csv or .parquet"
        )
        % {"file": path.name, "kinds": ", ".join(KINDS)}
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


UTF8_BOM = b"\xef\xbb\xbf"


def _line_of(data: bytes, pos: int) -> int:
    """The line (counted as in a text editor) that holds byte ``pos``."""
    return data.count(b"\n", 0, pos) + 1


def _looks_like_utf8(data: bytes) -> bool:
    """Is this UTF-8 with a few bad bytes rather than another encoding?

    A GBK file read as UTF-8 has far more undecodable bytes than valid non-ASCII characters
    (about 4 to 1 for Chinese text); a UTF-8 file with a stray byte is the other way round.
    """
    text = data.decode("utf-8", "surrogateescape")
    bad = len(data) - len(text.encode("utf-8", "ignore"))  # each bad byte became a lone surrogate
    ascii_count = len(data.translate(None, bytes(range(128, 256))))
    good = len(text) - ascii_count - bad
    return good > 0 and good >= 4 * bad


def _utf8_refusal(data: bytes, name: str, pos: int) -> FileRefused:
    return FileRefused(
        _(
            "%(file)s: is not valid UTF-8: the byte 0x%(byte)02X at line %(line)d, offset %(pos)d "
            "cannot be decoded (the rest of the file reads as UTF-8; it may be damaged)"
        )
        % {"file": name, "byte": data[pos], "line": _line_of(data, pos), "pos": pos}
    )


def decode(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM) or GBK/GB18030; anything else refuses the file.

    A refusal names the line and byte offset (counted from 0 in the file) of the first byte that
    cannot be decoded in the encoding the file most looks like.
    """
    if data.startswith(UTF8_BOM):
        try:
            text = data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _utf8_refusal(data, name, exc.start + 3) from None
        if text.startswith("\ufeff"):
            raise FileRefused(
                _(
                    "%(file)s: starts with a byte-order mark twice (EF BB BF EF BB BF); save it "
                    "as UTF-8 with one byte-order mark or none"
                )
                % {"file": name}
            )
        return text, "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(_("%(file)s: is UTF-16; save it as UTF-8 or GBK") % {"file": name})
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        if _looks_like_utf8(data):
            raise _utf8_refusal(data, name, utf8_error.start) from None
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        raise FileRefused(
            _(
                "%(file)s: is neither UTF-8 nor GBK (read as GBK, the byte 0x%(byte)02X at line "
                "%(line)d, offset %(pos)d cannot be decoded)"
            )
            % {
                "file": name,
                "byte": data[exc.start],
                "line": _line_of(data, exc.start),
                "pos": exc.start,
            }
        ) from None


def _invisible(text: str) -> str | None:
    """The first control, format (zero-width, byte-order mark …) or separator character."""
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return ch
    return None


def _check_header(header: list[str], kind: Kind, name: str) -> list[str]:
    if not header or all(not h for h in header):
        raise FileRefused(_("%(file)s: is empty or has no header line") % {"file": name})
    for number, col in enumerate(header, 1):
        ch = _invisible(col)
        if ch is not None:
            raise FileRefused(
                _(
                    "%(file)s: column %(n)d of the header (%(col)s) contains the invisible "
                    "character U+%(code)04X %(char)s; column names must be plain text"
                )
                % {
                    "file": name,
                    "n": number,
                    "col": ascii(col),
                    "code": ord(ch),
                    "char": unicodedata.name(ch, ""),
                }
            )
    seen: set[str] = set()
    for col in header:
        if col in seen:
            raise FileRefused(
                _("%(file)s: column %(col)s appears twice in the header")
                % {"file": name, "col": col}
            )
        seen.add(col)
    missing = [c for c in kind.required if c not in seen]
    if missing:
        raise FileRefused(
            _("%(file)s: required column %(col)s missing (a %(kind)s file needs %(cols)s)")
            % {"file": name, "col": missing[0], "kind": kind.name, "cols": ", ".join(kind.required)}
        )
    return [c for c in header if c not in kind.columns]


def read_file(path: Path) -> RawFile:
    kind = kind_for(path)
    if not path.is_file():
        raise FileRefused(_("%(file)s: no such file") % {"file": path})
    digest = sha256_of(path)
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path, kind, digest)
    return _read_csv(path, kind, digest)


def _read_csv(path: Path, kind: Kind, digest: str) -> RawFile:
    data = path.read_bytes()
    text, encoding = decode(data, path.name)
    if "\x00" in text:
        raise FileRefused(
            _("%(file)s: contains NUL bytes; it is not a text file") % {"file": path.name}
        )
    if kind.lake:
        fast = _read_csv_arrow(path, kind, digest, text, encoding)
        if fast is not None:
            return fast
    with _field_limit(len(text) + 1):
        return _read_csv_python(path, kind, digest, text, encoding)


#: a CR alone (not part of CRLF)
_BARE_CR = re.compile(r"\r(?!\n)")


@contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """Python's csv module refuses fields over 128 KiB; here a long field is the row's problem
    (its validator rejects it with its length), not the file's."""
    old = csv.field_size_limit()
    csv.field_size_limit(min(max(old, limit), sys.maxsize))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _cr_placeholder(text: str) -> str | None:
    """A character the text does not contain, to carry a lone CR through the csv module."""
    for code in (*range(0xE000, 0xF900), *range(0xF0000, 0xFFFFE)):
        ch = chr(code)
        if ch not in text:
            return ch
    return None


def _lines_and_crs(text: str) -> tuple[io.StringIO, str | None]:
    """The text as lines for the csv module, and the placeholder standing for a lone CR.

    A file whose lines end with LF or CRLF has its lines there and nowhere else: a CR alone is a
    character of the row (quoted or not), which the field's rule then rejects — the row stays
    one row, on the line a text editor shows. A file with no LF at all (classic Mac line ends)
    has its lines at each CR.
    """
    if "\n" not in text or "\r" not in text or not _BARE_CR.search(text):
        return io.StringIO(text, newline=""), None
    placeholder = _cr_placeholder(text)
    if placeholder is None:
        return io.StringIO(text, newline=""), None
    return io.StringIO(_BARE_CR.sub(placeholder, text), newline="\n"), placeholder


def _read_csv_python(path: Path, kind: Kind, digest: str, text: str, encoding: str) -> RawFile:
    lines_in, placeholder = _lines_and_crs(text)

    def restore(value: str) -> str:
        return value.replace(placeholder, "\r") if placeholder and placeholder in value else value

    reader = csv.reader(lines_in, strict=True)
    try:
        header = [restore(h).strip() for h in next(reader)]
    except StopIteration:
        raise FileRefused(
            _("%(file)s: is empty or has no header line") % {"file": path.name}
        ) from None
    except csv.Error as exc:
        raise FileRefused(
            _("%(file)s: the header line cannot be read as CSV (%(err)s)")
            % {"file": path.name, "err": exc}
        ) from None
    ignored = _check_header(header, kind, path.name)
    wanted = [(i, col) for i, col in enumerate(header) if col in kind.columns]
    columns: dict[str, list[str | None]] = {col: [] for _, col in wanted}
    lines: list[int] = []
    broken: list[tuple[int, str]] = []
    width = len(header)
    line = reader.line_num
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # A broken quote swallows the rest of the file: refuse it rather than guess.
            raise FileRefused(
                _("%(file)s: line %(line)d cannot be read as CSV (%(err)s)")
                % {"file": path.name, "line": start, "err": exc}
            ) from None
        line = start
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != width:
            broken.append(
                (line, _("has %(n)d fields, the header has %(m)d") % {"n": len(row), "m": width})
            )
            continue
        lines.append(line)
        for i, col in wanted:
            value = restore(row[i]).strip()
            columns[col].append(value if value != "" else None)
    arrays = {col: pa.array(values, pa.string()) for col, values in columns.items()}
    arrays["__line"] = pa.array(lines, pa.int64())
    return RawFile(path, kind, encoding, digest, header, pa.table(arrays), broken, ignored)


def _read_csv_arrow(
    path: Path, kind: Kind, digest: str, text: str, encoding: str
) -> RawFile | None:
    """Arrow's C++ CSV reader for the big lake files (a million rows a second).

    Line numbers are exact only when every row is one line; a file with blank lines or quoted
    line breaks returns ``None`` and is read by the Python reader instead.
    """
    body = text
    if "\n\n" in body or "\r\n\r\n" in body or body.startswith(("\n", "\r")):
        return None
    if "\r" in body and _BARE_CR.search(body):
        return None  # a CR alone is a character of its row: the Python reader keeps the lines
    header_line = body.split("\n", 1)[0].rstrip("\r")
    try:
        header = [h.strip() for h in next(csv.reader([header_line]))]
    except (StopIteration, csv.Error):
        return None
    ignored = _check_header(header, kind, path.name)
    broken: list[tuple[int, str]] = []
    width = len(header)

    def invalid(row: pacsv.InvalidRow) -> str:
        number = row.number if row.number is not None else -1
        broken.append(
            (
                number,
                _("has %(n)d fields, the header has %(m)d") % {"n": row.actual_columns, "m": width},
            )
        )
        return "skip"

    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(
                use_threads=False, column_names=names, skip_rows=1, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                invalid_row_handler=invalid, newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid:
        return None
    n_lines = body.count("\n") + (0 if body.endswith("\n") else 1)
    if table.num_rows + len(broken) + 1 != n_lines or any(n < 0 for n, _r in broken):
        return None  # a quoted line break: fall back to exact line numbers
    bad = sorted(n for n, _r in broken)
    lines = np.arange(2, n_lines + 1, dtype=np.int64)
    if bad:
        lines = lines[~np.isin(lines, np.asarray(bad, dtype=np.int64))]
    columns = {}
    for i, col in enumerate(header):
        if col in kind.columns:
            columns[col] = pc.utf8_trim_whitespace(table.column(names[i]))
    columns["__line"] = pa.array(lines)
    return RawFile(path, kind, encoding, digest, header, pa.table(columns), broken, ignored)


def _as_text(array: pa.ChunkedArray | pa.Array) -> list[str | None]:
    typ = array.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return [v if v not in (None, "") else None for v in array.to_pylist()]
    if pa.types.is_timestamp(typ):
        values = array.to_pylist()
        return [v.isoformat() if v is not None else None for v in values]
    if pa.types.is_date(typ):
        return [v.isoformat() if v is not None else None for v in array.to_pylist()]
    if pa.types.is_decimal(typ) or pa.types.is_integer(typ):
        return [str(v) if v is not None else None for v in array.to_pylist()]
    if pa.types.is_floating(typ):
        # Render floats without exponent so the decimal rules can judge them (1e5 → 100000.0).
        return [
            format(v, "f").rstrip("0").rstrip(".") if v is not None else None
            for v in array.to_pylist()
        ]
    strings = pc.utf8_trim_whitespace(array.cast(pa.string()))
    return [v if v not in (None, "") else None for v in strings.to_pylist()]


def _read_parquet(path: Path, kind: Kind, digest: str) -> RawFile:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any Arrow error means "not a readable Parquet file"
        raise FileRefused(
            _("%(file)s: is not a readable Parquet file (%(err)s)")
            % {"file": path.name, "err": exc}
        ) from None
    header = [str(n) for n in table.column_names]
    ignored = _check_header(header, kind, path.name)
    known = table.select([c for c in header if c in kind.columns])
    # Parquet has no lines; "line" is the row number counted like a CSV with a header (row 1 = line 2).
    known = known.append_column("__line", pa.array(range(2, table.num_rows + 2), pa.int64()))
    return RawFile(path, kind, "parquet", digest, header, known, [], ignored)
