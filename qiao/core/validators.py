"""One validator per field, shared by ingest, forms and the API.

Each ``clean_*`` takes the raw text (or value) and returns the normalised value, or raises
:class:`FieldError` with a reason a person understands. Ingest writes the reason into the reject
file; forms and the API show it against the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric, uscc

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_POSTAL = re.compile(r"^\d{6}$")
_LANDLINE = re.compile(r"^[0-9][0-9\- ]{5,19}$")
_OTHER_ID = re.compile(r"^[A-Za-z0-9]{3,40}$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_MOBILE_NOISE = re.compile(r"[\s\-]")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class FieldError(ValueError):
    """A value that does not pass its field's rule; ``reason`` is translatable."""

    def __init__(self, reason: object) -> None:
        super().__init__(str(reason))
        self.reason = reason


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def clean_text(value: object, *, max_length: int = 200) -> str:
    text = _text(value)
    if len(text) > max_length:
        raise FieldError(
            _("is %(n)d characters long; at most %(max)d are allowed")
            % {"n": len(text), "max": max_length}
        )
    if _CONTROL.search(text):
        raise FieldError(_("contains control characters"))
    return text


#: A name may not start like a spreadsheet formula (issue 11: ``=HYPERLINK(…)``, ``+1+1``,
#: ``@SUM(…)``). A leading ``-`` is allowed: it starts no formula once exported through
#: :func:`qiao.core.csvsafe.csv_safe`, and refusing it could make an existing record unloadable
#: (docs/privacy.md, "Formula injection").
NAME_FORBIDDEN_START = ("=", "+", "@")


def clean_name(value: object, *, max_length: int = 200) -> str:
    """A person's or a company's name: :func:`clean_text`, and no formula-like first character."""
    text = clean_text(value, max_length=max_length)
    if text.startswith(NAME_FORBIDDEN_START):
        raise FieldError(
            _("a name may not start with %(char)s (it would run as a spreadsheet formula)")
            % {"char": text[0]}
        )
    return text


def clean_code(value: object) -> str:
    text = _text(value)
    if not _CODE.match(text):
        raise FieldError(_("is not a valid code: use 1–40 letters, digits, '-', '_' or '.'"))
    return text


def clean_date(value: object, *, not_after: dt.date | None = None) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        day = value
    else:
        text = _text(value)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise FieldError(_("is not a date in the form YYYY-MM-DD"))
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise FieldError(_("is not a real calendar date")) from None
    if day.year < 1900:
        raise FieldError(_("is before 1900"))
    if not_after is not None and day > not_after:
        raise FieldError(_("is in the future"))
    return day


def clean_past_date(value: object) -> dt.date:
    """A date not after today where the bank is (``QIAO_TIME_ZONE``): birth, opening, hire dates."""
    return clean_date(value, not_after=dt.datetime.now(_bank_zone()).date())


@lru_cache(maxsize=1)
def _bank_zone() -> ZoneInfo:
    # datetime.now with a fixed zone, not timezone.localdate(): this runs for every date cell of
    # a million-row file, and Django's active-zone lookup costs more than the check itself.
    return ZoneInfo(settings.TIME_ZONE)


def clean_timestamp(value: object, *, not_after: dt.datetime | None = None) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    else:
        text = _text(value)
        try:
            stamp = dt.datetime.fromisoformat(text)
        except ValueError:
            raise FieldError(_("is not an ISO 8601 date and time")) from None
    if stamp.tzinfo is None:
        # A timestamp without an offset is the bank's local time (QIAO_TIME_ZONE).
        stamp = stamp.replace(tzinfo=_bank_zone())
    if not_after is not None and stamp > not_after:
        raise FieldError(_("is in the future"))
    return stamp


def clean_decimal(
    value: object, *, places: int = 2, minimum: Decimal | None = None, positive: bool = False
) -> Decimal:
    if isinstance(value, Decimal):
        number = value
    else:
        text = _text(value)
        if not re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
            raise FieldError(_("is not a decimal number (digits, optionally a '.' and decimals)"))
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise FieldError(_("is not a decimal number")) from None
    if not number.is_finite():
        raise FieldError(_("is not a finite number"))
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise FieldError(_("has more than %(places)d decimal places") % {"places": places})
    if abs(number) >= Decimal(10) ** 16:
        raise FieldError(_("is too large"))
    if positive and number <= 0:
        raise FieldError(_("must be greater than zero"))
    if minimum is not None and number < minimum:
        raise FieldError(_("must be at least %(min)s") % {"min": minimum})
    return number


def clean_amount(value: object, *, positive: bool = False) -> Decimal:
    """A money amount in yuan: at most 2 decimal places, not negative (or > 0 if positive)."""
    return clean_decimal(value, places=2, minimum=Decimal(0), positive=positive)


def clean_int(value: object, *, minimum: int | None = None) -> int:
    text = _text(value)
    if not re.fullmatch(r"[+-]?\d+", text):
        raise FieldError(_("is not a whole number"))
    number = int(text)
    if minimum is not None and number < minimum:
        raise FieldError(_("must be at least %(min)s") % {"min": minimum})
    return number


def clean_enum(value: object, choices: Iterable[str]) -> str:
    text = _text(value).upper()
    allowed = list(choices)
    if text not in allowed:
        raise FieldError(_("must be one of %(choices)s") % {"choices": ", ".join(allowed)})
    return text


def clean_enum_list(value: object, choices: Iterable[str]) -> str:
    allowed = list(choices)
    items = [p.strip().upper() for p in _text(value).split("|") if p.strip()]
    bad = [p for p in items if p not in allowed]
    if bad:
        raise FieldError(
            _("%(bad)s is not one of %(choices)s") % {"bad": bad[0], "choices": ", ".join(allowed)}
        )
    return "|".join(dict.fromkeys(items))


@lru_cache(maxsize=8192)
def _known_area(area: str, year: str) -> bool:
    # The area code (first 6 digits) is looked up in python-stdnum's bundled GB/T 2260 table;
    # cached per area and birth year (stdnum checks the county existed in that year) because
    # that lookup dominates the cost of validating a million IDs.
    try:
        ric.get_birth_place(area + year + "01010000")
    except stdnum_exc.ValidationError:
        return False
    return True


def clean_resident_id(value: object) -> str:
    """GB 11643 resident ID: 18 characters, MOD 11-2 check digit, real birth date, known area.

    The same checks as ``stdnum.cn.ric.validate``, in its order, with the area lookup cached.
    """
    text = _text(value).upper().replace(" ", "")
    if len(text) != 18:
        raise FieldError(
            _("a resident ID has 18 characters, this one has %(n)d") % {"n": len(text)}
        )
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise FieldError(_("a resident ID has 17 digits followed by a digit or X"))
    if ric.calc_check_digit(text) != text[17]:
        raise FieldError(_("the resident ID's check digit is wrong"))
    try:
        ric_birth_date(text)  # what stdnum's get_birth_date checks, without re-cleaning the text
    except ValueError:
        raise FieldError(_("the resident ID's birth date does not exist")) from None
    if not _known_area(text[:6], text[6:10]):
        raise FieldError(_("the resident ID's area code does not exist")) from None
    return text


def clean_credit_code(value: object) -> str:
    """GB 32100 unified social credit code: 18 characters with a mod-31 check character."""
    text = _text(value).upper().replace(" ", "")
    if len(text) != 18:
        raise FieldError(
            _("a unified social credit code has 18 characters, this one has %(n)d")
            % {"n": len(text)}
        )
    try:
        return str(uscc.validate(text))
    except stdnum_exc.InvalidChecksum:
        raise FieldError(_("the credit code's check character is wrong")) from None
    except stdnum_exc.ValidationError:
        raise FieldError(
            _("a credit code uses digits and the letters A–H, J–N, P–R, T, U, W–Y")
        ) from None


def clean_other_id(value: object) -> str:
    text = _text(value).upper()
    if not _OTHER_ID.match(text):
        raise FieldError(_("an ID number has 3–40 letters and digits"))
    return text


def clean_mobile(value: object) -> str:
    """A mainland mobile number: 11 digits with a valid mobile prefix (+86 and spaces stripped)."""
    text = _text(value)
    # the usual form, 11 ASCII digits, needs no clean-up
    if not (len(text) == 11 and text.isascii() and text.isdigit()):
        text = _MOBILE_NOISE.sub("", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if not (text.isascii() and text.isdigit()) or len(text) != 11:
        raise FieldError(_("a mobile number has 11 digits"))
    if not _MOBILE.match(text):
        raise FieldError(_("a mobile number starts with 13–19"))
    if not _mobile_prefix_in_use(text[:7]):
        raise FieldError(_("%(prefix)s is not a mobile prefix in use") % {"prefix": text[:3]})
    return text


@lru_cache(maxsize=65536)
def _mobile_prefix_in_use(prefix7: str) -> bool:
    # libphonenumber's CN mobile patterns are fixed-length (11 digits) and decided by the leading
    # digits (at most 7), so the answer for a 7-digit prefix holds for every number that has it.
    parsed = phonenumbers.parse(prefix7 + "1234", "CN")
    return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def clean_email(value: object) -> str:
    text = _text(value)
    if len(text) > 254 or not _EMAIL.match(text):
        raise FieldError(_("is not an e-mail address"))
    return text


def clean_postal_code(value: object) -> str:
    text = _text(value)
    if not _POSTAL.match(text):
        raise FieldError(_("a postal code has 6 digits"))
    return text


def clean_landline(value: object) -> str:
    text = _text(value)
    if not _LANDLINE.match(text):
        raise FieldError(_("a landline number has 6–20 digits, '-' or spaces"))
    return text


def ric_birth_date(id_no: str) -> dt.date:
    return dt.date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))


def ric_gender(id_no: str) -> str:
    # GB 11643: the 17th digit (sequence code) is odd for men, even for women.
    return "M" if int(id_no[16]) % 2 else "F"
