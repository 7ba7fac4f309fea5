"""Vectorised builders for identifiers (resident IDs, credit codes, card numbers, mobiles) and
small pyarrow helpers shared by the generator modules.

Identifiers are built with numpy digit arithmetic rather than per-row Python so that a million
customers stay fast; the tests check a sample of them with python-stdnum.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: "missing date" sentinel for int day numbers (days since 1970-01-01); inside the date32 range
NA_DAY = -1_000_000

_RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_RIC_CHECK = np.array(list("10X98765432"))
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def digits_of(values: np.ndarray, width: int) -> np.ndarray:
    """The decimal digits of non-negative ints as an (n, width) array, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values.astype(np.int64)[:, None] // powers[None, :]) % 10


def chars_to_str(codes: np.ndarray) -> np.ndarray:
    """(n, k) array of single characters → array of k-character strings."""
    k = codes.shape[1]
    return np.ascontiguousarray(codes.astype("<U1")).view(f"<U{k}").ravel()


@cache
def ric_valid_years(code: str) -> np.ndarray:
    """For birth years 1900..2099: does python-stdnum accept ``code`` as the area of a birth then?

    Mirrors ``stdnum.cn.ric.get_birth_place``: a county entry like ``[1983-2015]庐山区`` is valid
    only for births in those years; an entry without brackets always is.
    """
    from stdnum import numdb

    years = np.arange(1900, 2100)
    info = {k: v for _part, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    ok = np.zeros(len(years), dtype=bool)
    for county in info.get("county", "").split(","):
        if not county:
            continue
        if not county.startswith("["):
            ok[:] = True
            break
        start, end = county[1:].split("]")[0].split("-")
        ok |= (years >= int(start or 0)) & (years <= int(end or 9999))
    ok.setflags(write=False)
    return ok


def resident_ids(area: np.ndarray, birth_ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """GB 11643 resident IDs from 6-digit area ints, yyyymmdd ints and 3-digit sequence numbers.

    The sequence number's parity carries the gender (odd = male), so callers pass it already
    adjusted.
    """
    body = np.concatenate([digits_of(area, 6), digits_of(birth_ymd, 8), digits_of(seq, 3)], axis=1)
    check = _RIC_CHECK[(body @ _RIC_WEIGHTS) % 11]
    chars = np.concatenate([body.astype("<U1"), check[:, None]], axis=1)
    return chars_to_str(chars)


def credit_codes(area: np.ndarray, org_body: np.ndarray, entity: np.ndarray) -> np.ndarray:
    """GB 32100 unified social credit codes.

    ``org_body`` is an (n, 8) array of indices into the USCC alphabet (the organisation code
    without its GB 11714 check character); ``entity`` the 2nd character (1 enterprise, 2 sole
    trader…). The organisation code's own check character and the final check are computed.
    """
    n = len(area)
    lead = np.full((n, 1), 9, dtype=np.int64)  # 9 = registered with the market regulator
    org_vals = org_body.astype(np.int64)
    # GB 11714 values: digits 0-9, letters A=10 … Z=35 (by letter position, not USCC index).
    alpha = np.array(list(USCC_ALPHABET))
    letter_val = np.array(
        [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in USCC_ALPHABET], np.int64
    )
    c9 = 11 - (letter_val[org_vals] @ _ORG_WEIGHTS) % 11  # 1..11; 10 is written X, 11 is 0
    c9_table = np.array(
        [USCC_ALPHABET.index("0" if v == 11 else "X" if v == 10 else str(v)) for v in range(12)]
    )
    c9_idx = c9_table[c9]
    body = np.concatenate(
        [lead, entity.astype(np.int64)[:, None], digits_of(area, 6), org_vals, c9_idx[:, None]],
        axis=1,
    )
    check = (31 - (body @ _USCC_WEIGHTS) % 31) % 31
    full = np.concatenate([body, check[:, None]], axis=1)
    return chars_to_str(alpha[full])


def luhn_numbers(prefix: str, seq: np.ndarray, body_len: int) -> np.ndarray:
    """Card numbers: ``prefix`` + zero-padded ``seq`` to ``body_len`` digits + Luhn check digit."""
    pdig = np.array([int(c) for c in prefix], dtype=np.int64)
    sdig = digits_of(seq, body_len - len(prefix))
    body = np.concatenate([np.broadcast_to(pdig, (len(seq), len(pdig))), sdig], axis=1)
    # double every second digit from the right of the body (the check digit will be rightmost)
    dbl = body[:, ::-1].copy()
    dbl[:, 0::2] *= 2
    dbl[dbl > 9] -= 9
    check = (10 - dbl.sum(axis=1) % 10) % 10
    return chars_to_str(np.concatenate([body, check[:, None]], axis=1).astype("<U1"))


# ---------------------------------------------------------------------------------------------
# pyarrow helpers


def date_array(days: np.ndarray) -> pa.Array:
    """int day numbers → date32, with NA_DAY as null."""
    days = np.asarray(days, dtype=np.int64)
    mask = days == NA_DAY
    return pa.array(np.where(mask, 0, days).astype(np.int32), pa.date32(), mask=mask)


def decimal_array(cents: np.ndarray, mask: np.ndarray | None = None, scale: int = 2) -> pa.Array:
    """int64 units of 10**-scale (cents by default) → decimal128(18, scale), exact by
    construction (no floats on the way)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    n = len(cents)
    buf = np.empty((n, 2), dtype=np.int64)
    buf[:, 0] = cents
    buf[:, 1] = cents >> 63  # sign extension into the high 64 bits (little-endian int128)
    validity = None
    null_count = 0
    if mask is not None and mask.any():
        validity = pa.py_buffer(np.packbits(~mask, bitorder="little").tobytes())
        null_count = int(mask.sum())
    return pa.Array.from_buffers(
        pa.decimal128(18, scale),
        n,
        [validity, pa.py_buffer(buf.tobytes())],
        null_count=null_count,
    )


def take(
    pool: tuple[str, ...] | list[str] | np.ndarray, idx: np.ndarray, mask: np.ndarray | None = None
) -> pa.Array:
    """Strings ``pool[idx]`` as a pyarrow array, null where ``mask``."""
    arr = pa.array(list(pool) if not isinstance(pool, np.ndarray) else pool, pa.string())
    out = arr.take(pa.array(np.asarray(idx, dtype=np.int64)))
    if mask is not None and mask.any():
        out = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)
    return out


def strings(values: np.ndarray | list[str], mask: np.ndarray | None = None) -> pa.Array:
    out = pa.array(values, pa.string()) if not isinstance(values, pa.Array) else values
    if mask is not None and mask.any():
        out = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)
    return out


def int_text(values: np.ndarray, width: int = 0) -> pa.Array:
    """ints → decimal text, left-padded with zeros to ``width``."""
    out = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    if width:
        out = pc.utf8_lpad(out, width=width, padding="0")
    return out


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation (a null part makes the result null)."""
    return pc.binary_join_element_wise(*parts, "")


def null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    if not mask.any():
        return arr
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)
