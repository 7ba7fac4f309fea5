"""The demo bank's marketing consents and contact preferences (the ``consents`` and
``contact_preferences`` extracts, loaded through ingest like a real bank's; docs/privacy.md,
"Consent").

Shares, among individual customers: SMS consent about 75 %, phone 60 %, WeChat 45 %, e-mail 30 %
of those with an e-mail address, post 20 %; about 5 % of those consents were withdrawn later (most
by an opt-out reply, some at the counter or in mobile banking). Companies consent less: phone and
e-mail (where they have an address) for about half, post for a third. Consent dates follow the
account opening (signed with it in core banking, ticked in mobile banking, or a signed form at the
branch). Some customers have contact preferences: about 3 % want messages in traditional Chinese
(most in Hong Kong, Taipei or Macau time), 2 % in English, 5 % have do-not-disturb hours (some across
midnight), 6 % a preferred channel among those they consented to. Synthetic, seeded.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from qiao.core.vocab import CONSENT_CHANNELS, CONSENT_SOURCES, CONSENT_STATES, CUSTOMER_LANGUAGES

from .base import Span, stream
from .codes import date_array, take

CHANNELS = CONSENT_CHANNELS.codes
#: consent shares by channel: (individuals, companies); e-mail's share is of those with an address
SHARES: dict[str, tuple[float, float]] = {
    "SMS": (0.75, 0.30),
    "PHONE": (0.60, 0.50),
    "EMAIL": (0.30, 0.50),
    "WECHAT": (0.45, 0.10),
    "POST": (0.20, 0.33),
}
#: how a consent was given: (share, evidence) by source — core banking with the account, mobile
#: banking, a signed form at the branch
GIVEN: dict[str, tuple[float, str]] = {
    "CORE": (0.70, "开户签约营销授权"),
    "ONLINE": (0.20, "手机银行勾选同意营销信息"),
    "BRANCH": (0.10, "客户签字授权书"),
}
#: how a consent was withdrawn: (share, evidence) by source
WITHDRAWN: dict[str, tuple[float, str]] = {
    "REPLY": (0.60, "回复TD退订"),
    "BRANCH": (0.25, "柜面书面撤回"),
    "ONLINE": (0.15, "手机银行关闭营销推送"),
}
WITHDRAWN_SHARE = 0.05
#: 2013-01-01 as a day number (the demo's dates are days since 1970-01-01)
EARLY_ONLINE = 15706
# The sources are the vocabulary's (a misspelt one would be rejected by ingest).
assert set(GIVEN) | set(WITHDRAWN) <= set(CONSENT_SOURCES.codes)
#: do-not-disturb windows (start, end), some across midnight
DND_WINDOWS = [("21:00", "08:00"), ("22:00", "07:30"), ("12:00", "14:00"), ("20:30", "09:00")]
HANT_ZONES = ["Asia/Hong_Kong", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Macau", "Asia/Shanghai"]
EN_ZONES = ["Asia/Shanghai", "Asia/Shanghai", "Asia/Singapore", "Europe/London", "America/New_York"]


def _pick(
    rng: np.random.Generator, table: dict[str, tuple[float, str]], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sources drawn by their shares, and each one's evidence text."""
    codes = np.array(list(table), dtype=object)
    p = np.array([share for share, _text in table.values()])
    texts = np.array([text for _share, text in table.values()], dtype=object)
    idx = rng.choice(len(codes), size=n, p=p / p.sum())
    return codes[idx], texts[idx]


def consent_tables(
    seed: int,
    span: Span,
    customer_no: pa.Array,
    corp: np.ndarray,
    open_d: np.ndarray,
    has_email: np.ndarray,
) -> dict[str, pa.Table]:
    """``{"consents": …, "contact_preferences": …}`` for the demo's customers."""
    rng = stream(seed, "consents")
    n = len(corp)
    given = np.zeros((n, len(CHANNELS)), dtype=bool)
    for j, channel in enumerate(CHANNELS):
        share_p, share_c = SHARES[channel]
        p = np.where(corp, share_c, share_p)
        if channel == "EMAIL":
            p = np.where(has_email, p, 0.0)
        given[:, j] = rng.random(n) < p
    cust_idx, chan_idx = np.nonzero(given)
    m = len(cust_idx)
    # Given with the account (a few days after opening) or later, never after as_of.
    later = rng.random(m) < 0.3
    delay = np.where(later, rng.integers(30, 1500, m), rng.integers(0, 10, m))
    given_on = np.minimum(open_d[cust_idx] + delay, span.asof_d)
    source, evidence = _pick(rng, GIVEN, m)
    # No mobile-banking consent before mobile banking: before 2013 it came with the account.
    early = (source == "ONLINE") & (given_on < EARLY_ONLINE)
    source[early], evidence[early] = "CORE", GIVEN["CORE"][1]
    state = np.full(m, CONSENT_STATES.codes[0], dtype=object)  # GIVEN
    withdrawn = (rng.random(m) < WITHDRAWN_SHARE) & (given_on < span.asof_d)
    w = np.flatnonzero(withdrawn)
    state[w] = CONSENT_STATES.codes[1]  # WITHDRAWN
    span_left = span.asof_d - given_on[w]
    on = given_on.copy()
    on[w] = np.minimum(
        given_on[w] + 1 + (rng.random(len(w)) * span_left).astype(np.int64), span.asof_d
    )
    source[w], evidence[w] = _pick(rng, WITHDRAWN, len(w))
    early = (source == "ONLINE") & (on < EARLY_ONLINE)
    source[early], evidence[early] = "BRANCH", WITHDRAWN["BRANCH"][1]
    # One replies to a message, not to a call or a letter: those are withdrawn at the branch.
    spoken = np.isin(chan_idx, [CHANNELS.index("PHONE"), CHANNELS.index("POST")])
    reply = spoken & (source == "REPLY")
    source[reply], evidence[reply] = "BRANCH", WITHDRAWN["BRANCH"][1]
    consents = pa.table(
        {
            "customer_no": customer_no.take(pa.array(cust_idx)),
            "channel": take(CHANNELS, chan_idx),
            "state": pa.array(state.tolist(), pa.string()),
            "on": date_array(on),
            "source": pa.array(source.tolist(), pa.string()),
            "evidence": pa.array(evidence.tolist(), pa.string()),
        }
    )
    return {
        "consents": consents,
        "contact_preferences": _preferences(
            rng, customer_no, corp, given, state, cust_idx, chan_idx
        ),
    }


def _preferences(
    rng: np.random.Generator,
    customer_no: pa.Array,
    corp: np.ndarray,
    given: np.ndarray,
    state: np.ndarray,
    cust_idx: np.ndarray,
    chan_idx: np.ndarray,
) -> pa.Table:
    n = len(corp)
    zh_hans, zh_hant, en = CUSTOMER_LANGUAGES.codes
    draw = rng.random(n)
    language = np.where(draw < 0.03, zh_hant, np.where(draw < 0.05, en, zh_hans)).astype(object)
    language[corp] = zh_hans
    dnd = (rng.random(n) < 0.05) & ~corp
    # a preferred channel among those still consented to
    still = given.copy()
    withdrawn = state == CONSENT_STATES.codes[1]
    still[cust_idx[withdrawn], chan_idx[withdrawn]] = False
    wants = (rng.random(n) < 0.06) & still.any(axis=1)
    rows = np.flatnonzero((language != zh_hans) | dnd | wants)
    k = len(rows)
    preferred = np.full(k, "", dtype=object)
    for i, c in enumerate(rows):
        if wants[c]:
            options = np.flatnonzero(still[c])
            preferred[i] = CHANNELS[int(options[rng.integers(0, len(options))])]
    window = rng.integers(0, len(DND_WINDOWS), k)
    has_dnd = dnd[rows]
    start = np.array([DND_WINDOWS[int(x)][0] for x in window], dtype=object)
    end = np.array([DND_WINDOWS[int(x)][1] for x in window], dtype=object)
    start[~has_dnd] = ""
    end[~has_dnd] = ""
    lang = language[rows]
    zone = np.full(k, "Asia/Shanghai", dtype=object)
    hant = lang == zh_hant
    zone[hant] = np.array(HANT_ZONES, dtype=object)[
        rng.integers(0, len(HANT_ZONES), int(hant.sum()))
    ]
    eng = lang == en
    zone[eng] = np.array(EN_ZONES, dtype=object)[rng.integers(0, len(EN_ZONES), int(eng.sum()))]

    def text(values: np.ndarray) -> pa.Array:
        return pa.array([v or None for v in values.tolist()], pa.string())

    return pa.table(
        {
            "customer_no": customer_no.take(pa.array(rows)),
            "preferred_channel": text(preferred),
            "dnd_start": text(start),
            "dnd_end": text(end),
            "language": pa.array(lang.tolist(), pa.string()),
            "time_zone": pa.array(zone.tolist(), pa.string()),
        }
    )
