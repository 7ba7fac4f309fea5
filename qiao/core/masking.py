"""Masking of personal financial information (JR/T 0171-2020 C2 data), done server-side.

The digits kept follow the convention in docs/privacy.md (Ant Design's "low" level, widely used by
Chinese banks; the standard's own Appendix A was not available to us — see compliance.md §1.3):
resident ID first 6 + last 4, mobile first 3 + last 4, account/card first 6 + last 4, address kept
to the district.
"""

from __future__ import annotations

import re

_DISTRICT = re.compile(r"^(.*?(?:省|自治区|市))?(.*?(?:市|自治州|地区|盟))?(.*?(?:区|县|旗|市))?")


def mask_middle(text: str, keep_start: int, keep_end: int) -> str:
    if not text:
        return ""
    if len(text) <= keep_start + keep_end:
        return text[:1] + "*" * (len(text) - 1)
    return text[:keep_start] + "*" * (len(text) - keep_start - keep_end) + text[-keep_end:]


def mask_id_no(id_no: str) -> str:
    """Resident ID / credit code / passport: first 6 + last 4 (hides the whole birth date)."""
    return mask_middle(id_no or "", 6, 4)


def mask_mobile(mobile: str) -> str:
    return mask_middle(mobile or "", 3, 4)


def mask_account_no(account_no: str) -> str:
    return mask_middle(account_no or "", 6, 4)


def mask_name(name: str) -> str:
    """张三 → 张*; 张三丰 → 张*丰 (names are only masked in exports without permission)."""
    if not name:
        return ""
    if len(name) == 2:
        return name[0] + "*"
    if len(name) > 2:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return name


def mask_address(address: str) -> str:
    """Keep province, city and district; mask the rest: 浙江省杭州市西湖区****."""
    if not address:
        return ""
    match = _DISTRICT.match(address)
    kept = "".join(g for g in (match.groups() if match else ()) if g)
    if not kept or kept == address:
        # No recognisable district: keep the first 6 characters at most.
        kept = address[: min(6, max(1, len(address) // 3))]
    return kept + "****"


def mask_email(email: str) -> str:
    if not email or "@" not in email:
        return email or ""
    local, domain = email.split("@", 1)
    return local[:3] + "***@" + domain
