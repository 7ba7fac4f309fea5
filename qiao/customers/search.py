"""Search keys for customer names: full pinyin and initials (张三 → "zhangsan", "zs")."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    # Per character, cached: names are short and characters repeat, so a load of a million
    # customers costs a few thousand pypinyin calls instead of a million.
    if not ("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"):
        return ch.lower() if ch.isalnum() else ""
    return lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")[0] if ch else ""


def pinyin_keys(name: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of a name; non-Chinese letters and digits pass through."""
    full: list[str] = []
    initials: list[str] = []
    for ch in name:
        py = _char_pinyin(ch)
        if not py:
            continue
        full.append(py)
        initials.append(py[0])
    return "".join(full)[:400], "".join(initials)[:100]
