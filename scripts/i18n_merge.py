"""Merge translations into both Chinese catalogues and compile them.

    python scripts/i18n_merge.py NEW.json [NEW.json ...]

Each file is a JSON list of ``{"msgid": …, "zh_Hans": …, "zh_Hant": …}`` objects (add
``"msgid_plural"`` for a plural message: Chinese has one form, which carries the plural's
placeholders; ``"msgctxt"`` for a message with a context). An existing entry is updated, a new one
added; both ``.po`` files are saved and compiled to ``.mo``. The catalogues are locked while they
are written, so several people (or helpers) can merge at once. ``django-admin makemessages``
later adds the source locations and keeps every translation merged here.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "qiao" / "locale"
LANGS = ("zh_Hans", "zh_Hant")


def merge(items: list[dict[str, str]]) -> int:
    lock_path = LOCALE / ".merge.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for lang in LANGS:
            po_path = LOCALE / lang / "LC_MESSAGES" / "django.po"
            po = polib.pofile(str(po_path), wrapwidth=79)
            for item in items:
                text = item[lang]
                ctx = item.get("msgctxt")
                entry = po.find(item["msgid"], msgctxt=ctx) if ctx else po.find(item["msgid"])
                if entry is None:
                    entry = polib.POEntry(msgid=item["msgid"], msgctxt=ctx)
                    if item.get("msgid_plural"):
                        entry.msgid_plural = item["msgid_plural"]
                    po.append(entry)
                if entry.msgid_plural:
                    entry.msgstr_plural = {0: text}
                else:
                    entry.msgstr = text
                entry.obsolete = False
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
            po.save(str(po_path))
            po.save_as_mofile(str(po_path.with_suffix(".mo")))
    return len(items)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    total = 0
    for name in argv:
        items = json.loads(Path(name).read_text(encoding="utf-8"))
        missing = [i.get("msgid") for i in items if not all(i.get(k) for k in ("msgid", *LANGS))]
        if missing:
            print(f"{name}: entries without msgid or a translation: {missing}", file=sys.stderr)
            return 1
        total += merge(items)
    print(f"merged {total} messages into {', '.join(LANGS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
