"""Organisation, staff and the customer base (who they are, where, how old, how wealthy)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from qiao.core import vocab

from . import pools
from .base import Span, add_years, age_on, day_of, stream, ymd
from .codes import (
    NA_DAY,
    USCC_ALPHABET,
    credit_codes,
    date_array,
    join,
    resident_ids,
    ric_valid_years,
    take,
)

# Age bands used for the seed-002 calibration: <18, 18–39, 40–60, >60.
MINOR, YOUNG, MIDDLE, OLD, CORP = 0, 1, 2, 3, 4
BAND_COUNT_SHARE = (0.08, 0.1992, 0.4146, 0.3062)  # seed 002 R2 (the <18 / >60 split is ours)
BAND_ASSET_SHARE = (0.03, 0.065, 0.4323, 0.4727)
CORPORATE_SHARE = 0.05

OWNER_ROLES = vocab.ROLES.having("owner")


def band_of(age: np.ndarray) -> np.ndarray:
    return np.select([age < 18, age < 40, age <= 60], [MINOR, YOUNG, MIDDLE], OLD)


def random_names(rng: np.random.Generator, female: np.ndarray) -> pa.Array:
    """zh_CN personal names from Faker's surname weights and given-name characters."""
    n = len(female)
    w = np.array(pools.SURNAME_WEIGHTS)
    sur = rng.choice(len(w), size=n, p=w / w.sum())
    two = rng.random(n) < 0.6  # most given names have two characters
    male_lead = rng.integers(0, len(pools.GIVEN_LEAD_MALE), n)
    fem_lead = rng.integers(0, len(pools.GIVEN_LEAD_FEMALE), n)
    male_g = rng.integers(0, len(pools.GIVEN_MALE), n)
    fem_g = rng.integers(0, len(pools.GIVEN_FEMALE), n)
    lead_pool = np.array(("",) + pools.GIVEN_LEAD_MALE + pools.GIVEN_LEAD_FEMALE)
    lead = np.where(female, 1 + len(pools.GIVEN_LEAD_MALE) + fem_lead, 1 + male_lead)
    lead = np.where(two, lead, 0)
    given_pool = np.array(pools.GIVEN_MALE + pools.GIVEN_FEMALE)
    given = np.where(female, len(pools.GIVEN_MALE) + fem_g, male_g)
    # a two-character Faker name (秀英) after a lead character would make three: drop the lead
    given_len = np.char.str_len(given_pool)[given]
    lead = np.where(given_len > 1, 0, lead)
    return join(take(pools.SURNAMES, sur), take(lead_pool, lead), take(given_pool, given))


def random_mobiles(rng: np.random.Generator, n: int) -> pa.Array:
    prefix = rng.integers(0, len(pools.MOBILE_PREFIXES), n)
    rest = rng.integers(0, 10**8, n)
    from .codes import int_text

    return join(take(pools.MOBILE_PREFIXES, prefix), int_text(rest, 8))


# ---------------------------------------------------------------------------------------------
# Organisation and staff


@dataclass
class Staff:
    staff_no: list[str]
    name: list[str]
    role: list[str]
    unit: list[str]
    grade: list[str]
    hire_d: np.ndarray
    leave_d: np.ndarray
    outlet: np.ndarray  # outlet index or -1 for head office
    passwords: list[str]
    mobile: list[str]
    departed: int  # index of the CM who left

    def owners_of_outlet(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Staff indices who may own customers at outlet ``k`` and their assignment weights."""
        idx = np.array(
            [
                i
                for i in range(len(self.role))
                if self.outlet[i] == k and self.role[i] in OWNER_ROLES
            ]
        )
        weight = {"CM": 1.0, "SENIOR_CM": 1.4, "TEAM_LEAD": 0.35, "OUTLET_HEAD": 0.12}
        return idx, np.array([weight[self.role[i]] for i in idx])

    def cms_of_outlet(self, k: int) -> np.ndarray:
        return np.array(
            [
                i
                for i in range(len(self.role))
                if self.outlet[i] == k and self.role[i] in ("CM", "SENIOR_CM")
            ]
        )


def org_units_table() -> pa.Table:
    rows: list[tuple[str, str, str, str | None, str]] = [
        (pools.HEAD_OFFICE[0], pools.HEAD_OFFICE[1], "HEAD_OFFICE", None, pools.HEAD_OFFICE[2])
    ]
    rows.append(
        (
            pools.BRANCH[0],
            pools.BRANCH[1],
            "BRANCH",
            "HO",
            pools.PROVINCE + pools.CITY + pools.BRANCH[2],
        )
    )
    for code, name, addr in pools.SUB_BRANCHES:
        rows.append((code, name, "SUB_BRANCH", pools.BRANCH[0], pools.PROVINCE + pools.CITY + addr))
    for code, name, sub, dist, street, _w in pools.OUTLETS:
        rows.append(
            (
                code,
                name,
                "OUTLET",
                sub,
                pools.PROVINCE + pools.CITY + pools.DISTRICTS[dist].name + street,
            )
        )
    cols = list(zip(*rows))
    return pa.table(
        {
            "unit_code": pa.array(cols[0]),
            "name": pa.array(cols[1]),
            "level": pa.array(cols[2]),
            "parent_code": pa.array(cols[3], pa.string()),
            "address": pa.array(cols[4]),
        }
    )


def _password(rng: np.random.Generator) -> str:
    # No look-alike characters (0/O, 1/l/I): people type these from a printout.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    while True:
        pw = "".join(alphabet[i] for i in rng.integers(0, len(alphabet), 14))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
        ):
            return pw


def build_staff(seed: int, span: Span) -> Staff:
    rng = stream(seed, "staff")
    rows: list[tuple[str, str, str, int, str, int]] = []  # no, role, unit, outlet, grade, hire
    asof = span.asof_d

    def hire(lo_year: int, hi_year: int) -> int:
        lo, hi = day_of_year(lo_year), day_of_year(hi_year)
        return int(rng.integers(lo, min(hi, asof - 200)))

    for k, (code, *_rest) in enumerate(pools.OUTLETS):
        num = f"{k + 1:02d}"
        rows.append((f"head{num}", "OUTLET_HEAD", code, k, "PRINCIPAL", hire(2003, 2012)))
        rows.append((f"lead{num}", "TEAM_LEAD", code, k, "SENIOR", hire(2006, 2015)))
        n_cm = int(rng.integers(4, 7))
        for j in range(n_cm):
            if j == 0:
                rows.append(
                    (f"cm{num}{j + 1:02d}", "SENIOR_CM", code, k, "SENIOR", hire(2008, 2016))
                )
            else:
                grade = "INTERMEDIATE" if rng.random() < 0.5 else "JUNIOR"
                rows.append((f"cm{num}{j + 1:02d}", "CM", code, k, grade, hire(2011, 2024)))
        rows.append((f"lobby{num}", "LOBBY", code, k, "", hire(2010, 2023)))
    for no, role in (
        ("analyst", "ANALYST"),
        ("auditor", "AUDITOR"),
        ("admin", "ADMIN"),
        ("prodmgr", "PRODUCT_MANAGER"),
        ("riskmgr", "RISK_MANAGER"),
        # Two marketing managers: a campaign is approved by someone other than its author.
        ("marketing", "MARKETING"),
        ("marketing2", "MARKETING"),
    ):
        rows.append((no, role, "HO", -1, "", hire(2005, 2020)))

    n = len(rows)
    female = rng.random(n) < 0.55
    names = random_names(rng, female).to_pylist()
    mobiles = random_mobiles(rng, n).to_pylist()
    leave = np.full(n, NA_DAY, dtype=np.int64)
    # One ordinary CM has left the bank: their customers stay assigned to them until an outlet
    # head reassigns them (the reassignment queue must not be empty in the demo).
    cm_rows = [i for i, r in enumerate(rows) if r[1] == "CM"]
    departed = cm_rows[int(rng.integers(0, len(cm_rows)))]
    leave[departed] = asof - int(rng.integers(15, 76))
    hire_d = np.array([r[5] for r in rows], dtype=np.int64)
    hire_d[departed] = min(hire_d[departed], span.start_d - 400)
    passwords = [_password(rng) for _ in range(n)]
    return Staff(
        staff_no=[r[0] for r in rows],
        name=names,
        role=[r[1] for r in rows],
        unit=[r[2] for r in rows],
        grade=[r[4] for r in rows],
        hire_d=hire_d,
        leave_d=leave,
        outlet=np.array([r[3] for r in rows]),
        passwords=passwords,
        mobile=mobiles,
        departed=departed,
    )


def day_of_year(year: int) -> int:
    from datetime import date

    return day_of(date(year, 1, 1))


def staff_table(staff: Staff) -> pa.Table:
    return pa.table(
        {
            "staff_no": pa.array(staff.staff_no),
            "name": pa.array(staff.name),
            "role": pa.array(staff.role),
            "unit_code": pa.array(staff.unit),
            "grade": pa.array([g or None for g in staff.grade], pa.string()),
            "mobile": pa.array(staff.mobile),
            "email": pa.array([f"{s}@bank.example.cn" for s in staff.staff_no]),
            "hire_date": date_array(staff.hire_d),
            "leave_date": date_array(staff.leave_d),
        }
    )


# ---------------------------------------------------------------------------------------------
# Customers


@dataclass
class Customers:
    n: int
    n_p: int
    corp: np.ndarray
    outlet: np.ndarray
    birth_d: np.ndarray
    age: np.ndarray
    band: np.ndarray
    female: np.ndarray
    open_d: np.ndarray
    dormant: np.ndarray
    level: np.ndarray  # raw wealth level (yuan), calibrated later
    occupation: np.ndarray  # index into pools.OCCUPATIONS_WORKING, -1 none/other
    size: np.ndarray  # corporates: 0 MICRO 1 SMALL 2 MEDIUM 3 LARGE; -1 individuals
    industry: np.ndarray
    names: pa.Array
    customer_no: pa.Array
    # decline (attrition) plan: month index of the first drop (-1 none), months, final factor
    decline_m: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    decline_k: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    decline_f: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # warning signs before a decline (as real leavers show): months of warning before decline_m
    # (0 none) and the share of the walking balances that slides away over them
    warn_w: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    warn_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: district index (pools.DISTRICTS) of the address; outside: lives outside 九江
    district: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    outside: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    biz_word: list[str] = field(default_factory=list)

    @property
    def closer(self) -> np.ndarray:
        return (self.decline_m >= 0) & (self.decline_f == 0)


#: The size classes by ``Customers.size`` (0 micro … 3 large): the vocabulary, smallest first.
SIZE_NAMES = tuple(reversed(vocab.SIZE_CLASSES.codes))


def build_customers(seed: int, span: Span, n: int) -> Customers:
    rng = stream(seed, "customers")
    n_c = max(1, int(round(n * CORPORATE_SHARE))) if n >= 2 else 0
    n_p = n - n_c
    corp = np.arange(n) >= n_p
    asof = span.asof_d

    w = np.array([o[5] for o in pools.OUTLETS])
    outlet = rng.choice(len(w), size=n, p=w / w.sum())

    # --- individuals: age band first (seed 002 count shares), then an exact birth date
    band_p = rng.choice(4, size=n_p, p=np.array(BAND_COUNT_SHARE) / sum(BAND_COUNT_SHARE))
    age0 = np.select(
        [band_p == MINOR, band_p == YOUNG, band_p == MIDDLE],
        [rng.integers(3, 18, n_p), rng.integers(18, 40, n_p), rng.integers(40, 61, n_p)],
        61 + np.minimum(rng.exponential(9.0, n_p).astype(np.int64), 34),
    )
    # a birthday strictly inside the year that gives exactly age0 on as_of
    last_bday = add_years(np.full(n_p, asof), -age0)
    birth_p = last_bday - rng.integers(0, 365, n_p)
    birth = np.full(n, NA_DAY, dtype=np.int64)
    birth[:n_p] = birth_p
    age = np.full(n, -1, dtype=np.int64)
    age[:n_p] = age_on(birth_p, asof)
    band = np.full(n, CORP, dtype=np.int64)
    band[:n_p] = band_of(age[:n_p])
    female = np.zeros(n, dtype=bool)
    female[:n_p] = rng.random(n_p) < 0.49

    # --- open dates: mostly long-standing customers, ~14 % new within the window (growth)
    floor_d = day_of_year(2000)
    earliest = np.full(n, floor_d, dtype=np.int64)
    adult_from = add_years(birth_p, np.full(n_p, 16))
    earliest[:n_p] = np.where(
        age[:n_p] >= 18, np.maximum(adult_from, floor_d), np.maximum(birth_p + 30, floor_d)
    )
    corp_floor = day_of_year(2003)
    earliest[n_p:] = corp_floor
    new = rng.random(n) < np.where(corp, 0.12, 0.14)
    lo = np.where(new, np.maximum(earliest, span.start_d), earliest)
    hi = np.where(new | (earliest >= span.start_d), asof - 1, span.start_d - 1)
    lo = np.minimum(lo, hi)
    open_d = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)

    # --- dormant customers: small, long inactive individuals
    dormant = (~corp) & (age >= 25) & (open_d < asof - 500) & (rng.random(n) < 0.03)

    # --- raw wealth: log-normal with band-specific medians; corporates by size class
    med = np.array([3500.0, 3800.0, 12000.0, 17000.0])
    level = np.zeros(n)
    level[:n_p] = np.exp(np.log(med[band[:n_p]]) + 1.75 * rng.standard_normal(n_p))
    size = np.full(n, -1, dtype=np.int64)
    size[n_p:] = rng.choice(4, size=n_c, p=[0.55, 0.30, 0.12, 0.03])
    cmed = np.array([50_000.0, 180_000.0, 1_200_000.0, 8_000_000.0])
    level[n_p:] = np.exp(np.log(cmed[size[n_p:]]) + 1.0 * rng.standard_normal(n_c))
    level = np.where(dormant, np.minimum(level, rng.uniform(5, 3000, n)), level)

    # --- occupation (individuals), industry (corporates; some individuals' employers)
    ow = np.array(pools.OCCUPATION_WEIGHTS, dtype=float)
    occupation = rng.choice(len(ow), size=n, p=ow / ow.sum())
    occupation[corp] = -1
    iw = np.array(pools.INDUSTRY_WEIGHTS, dtype=float)
    industry = rng.choice(len(iw), size=n, p=iw / iw.sum())

    names_p = random_names(rng, female[:n_p])
    numbers = np.arange(n)
    cno_p = join("P", _int7(numbers[:n_p] + 1))
    cno_c = join("C", _int7(numbers[n_p:] - n_p + 1))
    cust = Customers(
        n=n,
        n_p=n_p,
        corp=corp,
        outlet=outlet,
        birth_d=birth,
        age=age,
        band=band,
        female=female,
        open_d=open_d,
        dormant=dormant,
        level=level,
        occupation=occupation,
        size=size,
        industry=industry,
        names=names_p,  # corporate names appended later
        customer_no=pa.concat_arrays([cno_p, cno_c]),
    )
    # addresses: most live in the home outlet's district, some elsewhere in 九江, a few outside
    arng = stream(seed, "districts")
    home = np.array([o[3] for o in pools.OUTLETS])[outlet]
    cust.district = np.where(
        arng.random(n) < 0.7, home, arng.integers(0, len(pools.DISTRICTS), n)
    ).astype(np.int64)
    cust.outside = (arng.random(n) < 0.07) & ~corp
    _plan_declines(cust, span, stream(seed, "declines"))
    _plan_warnings(cust, stream(seed, "decline-warnings"))
    return cust


def _int7(values: np.ndarray) -> pa.Array:
    from .codes import int_text

    return int_text(values, 7)


def _plan_declines(cust: Customers, span: Span, rng: np.random.Generator) -> None:
    """~4 % of customers lose most of their assets (or leave) within 1–3 months, spread over the
    whole history so that an attrition model finds positives in every period."""
    n, m_count = cust.n, span.months
    k = rng.integers(1, 4, n)
    d0 = (1 + (rng.random(n) * np.maximum(m_count - k, 1)).astype(np.int64)).clip(1, m_count - 1)
    k = np.minimum(k, m_count - d0)
    eligible = (~cust.dormant) & (cust.level >= 5000) & (m_count >= 3)
    # the customer must have been with the bank for a while before the decline starts
    eligible &= cust.open_d <= span.month_starts[d0] - 120
    chosen = eligible & (rng.random(n) < 0.045)
    f = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.05, 0.32, n))
    cust.decline_m = np.where(chosen, d0, -1)
    cust.decline_k = np.where(chosen, np.maximum(k, 1), 0)
    cust.decline_f = np.where(chosen, f, 1.0)


def _plan_warnings(cust: Customers, rng: np.random.Generator) -> None:
    """Most leavers give warning, as real ones do: ~80 % of the decliners transact less and let
    10–30 % of their walking balances slide away over the 2–4 months before their decline; the
    rest leave without warning.
    Drawn from a stream of its own, so the other parts of the bank are the same as before."""
    n = cust.n
    w = rng.integers(2, 5, n)
    s = rng.uniform(0.10, 0.30, n)
    warned = (cust.decline_m >= 0) & (rng.random(n) < 0.8)
    cust.warn_w = np.where(warned, w, 0)
    cust.warn_s = np.where(warned, s, 0.0)


def warning_ramp(cust_idx: np.ndarray, month: np.ndarray, cust: Customers) -> np.ndarray:
    """0 before a customer's warning months, rising to 1 at the month their decline starts (and
    1 from then on); 0 for customers without warning. Broadcasts ``cust_idx`` against ``month``."""
    w = cust.warn_w[cust_idx]
    start = cust.decline_m[cust_idx] - w
    ramp = np.clip((month - start + 1) / np.maximum(w + 1, 1), 0.0, 1.0)
    return np.where(w > 0, ramp, 0.0)


def corporate_names(
    seed: int, cust: Customers, brand_override: dict[int, int], parents: set[int]
) -> pa.Array:
    """Unique company names such as 九江德安建材有限公司: registration place (the district of the
    address, or just 九江), a two-character brand, the business and a legal form. Members of a
    group share the group's brand; a group's parent is a 集团有限公司.

    Sets ``cust.biz_word`` (the business word of each corporate, for the main-business column).
    """
    rng = stream(seed, "company-names")
    n_p, n_c = cust.n_p, cust.n - cust.n_p
    nb = len(pools.BRAND_CHARS)
    b1 = rng.integers(0, nb, n_c)
    b2 = (b1 + rng.integers(1, nb, n_c)) % nb  # two different characters
    local_place = rng.random(n_c) < 0.6
    ind = cust.industry[n_p:]
    n_words = np.array([len(w) for w in pools.INDUSTRY_WORDS])
    word_idx = (rng.random(n_c) * n_words[ind]).astype(np.int64)
    words = [pools.INDUSTRY_WORDS[i][j] for i, j in zip(ind.tolist(), word_idx.tolist())]
    suffix = rng.choice(3, size=n_c, p=[0.78, 0.12, 0.10])
    district = cust.district[n_p:]
    n_places = len(pools.COMPANY_PLACES)
    names: list[str] = []
    seen: set[str] = set()
    for j in range(n_c):
        grouped = j in brand_override
        bc = brand_override.get(j, int(b1[j]) * nb + int(b2[j]))
        place = pools.DISTRICT_COMPANY_PLACE[district[j]] if local_place[j] else "九江"
        body = "集团" if j + n_p in parents else words[j]
        suf = "有限公司" if j + n_p in parents else pools.COMPANY_SUFFIXES[suffix[j]]
        for attempt in range(1, 10_000):
            brand = pools.BRAND_CHARS[bc // nb] + pools.BRAND_CHARS[bc % nb]
            name = place + brand + body + suf
            if name not in seen:
                break
            if grouped:  # keep the group's brand: vary the place and the legal form
                place = pools.COMPANY_PLACES[attempt % n_places]
                suf = pools.COMPANY_SUFFIXES[(attempt // n_places) % 3]
            else:
                first = int(rng.integers(0, nb))
                bc = first * nb + (first + int(rng.integers(1, nb))) % nb
        seen.add(name)
        names.append(name)
    cust.biz_word = words
    return pa.array(names, pa.string())


def ric_area_codes(
    rng: np.random.Generator, birth_year: np.ndarray, district: np.ndarray, local: np.ndarray
) -> np.ndarray:
    """6-digit area codes python-stdnum accepts for the birth year: the home district's code of
    the time (九江地区 codes before 1983), or somewhere else for people born elsewhere."""
    n = len(birth_year)
    yi = np.clip(birth_year - 1900, 0, 199)
    out = np.full(n, int(pools.FALLBACK_RIC), dtype=np.int64)
    for di, dist in enumerate(pools.DISTRICTS):
        sel = local & (district == di)
        chosen = np.zeros(n, dtype=bool)
        for code in dist.ric_codes:
            ok = ric_valid_years(code)[yi] & sel & ~chosen
            out[ok] = int(code)
            chosen |= ok
    other = ~local
    codes = list(pools.ELSEWHERE_RIC)
    pick = rng.integers(0, len(codes), n)
    valid = np.stack([ric_valid_years(c)[yi] for c in codes], axis=1)
    has = valid[np.arange(n), pick]
    out[other & has] = np.array([int(c) for c in codes])[pick][other & has]
    return out


def identity_columns(seed: int, span: Span, cust: Customers) -> dict[str, pa.Array]:
    """id_type, id_no, gender, birth_date, mobile, email, address, postal_code and landline."""
    rng = stream(seed, "identity")
    n, n_p = cust.n, cust.n_p
    ind = ~cust.corp

    district, outside = cust.district, cust.outside
    n_streets = np.array([len(d.streets) for d in pools.DISTRICTS])
    street_idx = (rng.random(n) * n_streets[district]).astype(np.int64)
    streets_flat = [s for d in pools.DISTRICTS for s in d.streets]
    street_off = np.cumsum([0] + [len(d.streets) for d in pools.DISTRICTS])[:-1]
    street = street_off[district] + street_idx
    dist_names = [d.name for d in pools.DISTRICTS]
    postal_local = [d.postal for d in pools.DISTRICTS]
    ew = rng.integers(0, len(pools.ELSEWHERE), n)
    ew_prefix = [p + c + d for p, c, d, _ in pools.ELSEWHERE]
    ew_postal = [e[3] for e in pools.ELSEWHERE]
    ew_street = rng.integers(0, len(pools.ELSEWHERE_STREETS), n)
    no = 1 + rng.integers(0, 300, n)
    compound = rng.integers(0, len(pools.COMPOUNDS), n)
    bldg = 1 + rng.integers(0, 30, n)
    unit = 1 + rng.integers(0, 4, n)
    room = (1 + rng.integers(0, 25, n)) * 100 + 1 + rng.integers(0, 4, n)
    from .codes import int_text

    local_addr = join(
        pools.PROVINCE + pools.CITY,
        take(dist_names, district),
        take(streets_flat, street),
        int_text(no),
        "号",
    )
    other_addr = join(
        take(ew_prefix, ew), take(pools.ELSEWHERE_STREETS, ew_street), int_text(no), "号"
    )
    base = pc.if_else(pa.array(outside), other_addr, local_addr)
    flat = join(
        take(pools.COMPOUNDS, compound),
        int_text(bldg),
        "栋",
        int_text(unit),
        "单元",
        int_text(room),
        "室",
    )
    with_flat = (~cust.corp) & (rng.random(n) < 0.75)
    address = pc.if_else(pa.array(with_flat), join(base, flat), base)
    postal = np.where(outside, np.array(ew_postal)[ew], np.array(postal_local)[district])
    no_addr = rng.random(n) < np.where(cust.corp, 0.01, 0.05)

    # resident IDs (individuals): area of birth valid for the birth year, gender in the sequence
    by, bmo, bd = ymd(np.where(ind, cust.birth_d, 0))
    born_local = rng.random(n) < 0.88
    area = ric_area_codes(rng, by, district, born_local)
    seq = rng.integers(0, 500, n) * 2 + np.where(cust.female, 0, 1)
    ymd_int = by * 10000 + bmo * 100 + bd
    passport = ind & (rng.random(n) < 0.004)
    ric = resident_ids(area[:n_p], ymd_int[:n_p], seq[:n_p])
    ric = _dedupe_ids(ric, area[:n_p], ymd_int[:n_p], seq[:n_p])
    pp = np.array([f"E{v:08d}" for v in rng.integers(10**7, 10**8, n_p)])
    id_no_p = np.where(passport[:n_p], pp, ric)
    org = rng.integers(0, len(USCC_ALPHABET), (n - n_p, 8))
    digits_only = rng.random(n - n_p) < 0.55  # older codes are all digits, newer start with MA
    org[digits_only] = org[digits_only] % 10
    ma = ~digits_only
    org[ma, 0] = USCC_ALPHABET.index("M")
    org[ma, 1] = USCC_ALPHABET.index("A")
    # credit codes carry the registering district's current code (or the city's)
    modern = ric_area_codes(rng, np.full(n, 2020), district, np.ones(n, dtype=bool))
    corp_area = np.where(rng.random(n - n_p) < 0.5, 360400, modern[n_p:])
    uscc = credit_codes(corp_area, org, np.where(rng.random(n - n_p) < 0.9, 1, 2))
    uscc = _dedupe_uscc(uscc, rng)
    id_no = np.concatenate([id_no_p, uscc])
    id_type = np.where(cust.corp, "USCC", np.where(passport, "PASSPORT", "RIC"))

    # contact details, with realistic gaps (completeness varies)
    mobile_p = np.select([cust.age < 16, cust.age > 70], [0.1, 0.65], 0.9)
    has_mobile = rng.random(n) < np.where(cust.corp, 0.5, mobile_p)
    mobile = random_mobiles(rng, n)
    email_p = np.select(
        [cust.corp, cust.age < 16, cust.age < 40, cust.age <= 60], [0.4, 0.02, 0.55, 0.3], 0.08
    )
    has_email = rng.random(n) < email_p
    email = _emails(rng, cust, n)
    landline = join("0792-", int_text(8_000_000 + rng.integers(0, 999_999, n), 7))
    has_landline = rng.random(n) < np.where(cust.corp, 0.7, 0.12)

    gender = np.where(cust.female, "F", "M")
    return {
        "id_type": pa.array(id_type),
        "id_no": pa.array(id_no),
        "gender": _mask(pa.array(gender), cust.corp),
        "birth_date": date_array(cust.birth_d),
        "mobile": _mask(mobile, ~has_mobile),
        "email": _mask(email, ~has_email),
        "address": _mask(address, no_addr),
        "postal_code": _mask(pa.array(postal), no_addr),
        "landline": _mask(landline, ~has_landline),
    }


def _mask(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    from .codes import null_where

    return null_where(arr, np.asarray(mask, dtype=bool))


def _dedupe_ids(
    ids: np.ndarray, area: np.ndarray, ymd_int: np.ndarray, seq: np.ndarray
) -> np.ndarray:
    """Re-issue the rare duplicate resident IDs with the next free same-gender sequence number."""
    _, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts == 1).all():
        return ids
    seen = set(ids.tolist())
    dup_mask = np.ones(len(ids), dtype=bool)
    dup_mask[first] = False
    out = ids.copy()
    for i in np.flatnonzero(dup_mask):
        s = int(seq[i])
        while True:
            s = (s + 2) % 1000
            cand = resident_ids(area[i : i + 1], ymd_int[i : i + 1], np.array([s]))[0]
            if cand not in seen:
                seen.add(cand)
                out[i] = cand
                break
    return out


def _dedupe_uscc(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    _, first = np.unique(codes, return_index=True)
    if len(first) == len(codes):
        return codes
    seen = set(codes.tolist())
    dup = np.ones(len(codes), dtype=bool)
    dup[first] = False
    out = codes.copy()
    for i in np.flatnonzero(dup):
        while True:
            org = rng.integers(0, 10, (1, 8))
            cand = credit_codes(np.array([360400]), org, np.array([1]))[0]
            if cand not in seen:
                seen.add(cand)
                out[i] = cand
                break
    return out


def _emails(rng: np.random.Generator, cust: Customers, n: int) -> pa.Array:
    """QQ-number mail for many (as in China), pinyin-name mail for the rest."""
    from pypinyin import lazy_pinyin

    from .codes import int_text

    qq = join(int_text(rng.integers(10**5, 3 * 10**9, n)), "@qq.com")
    names = cust.names.to_pylist() + ["x"] * (n - cust.n_p)
    # pinyin per distinct character (a few hundred), not per customer: fast for a million
    chars = sorted(set("".join(names)))
    # mailbox names are ASCII: keep letters only (lazy_pinyin writes ü as v already)
    py = {
        ch: "".join(c for c in "".join(lazy_pinyin(ch)).lower() if "a" <= c <= "z") for ch in chars
    }
    local = pa.array(["".join([py[ch] for ch in nm]) for nm in names], pa.string())
    dom = rng.integers(1, len(pools.EMAIL_DOMAINS), n)
    pin = join(local, int_text(rng.integers(1, 999, n)), "@", take(pools.EMAIL_DOMAINS, dom))
    use_qq = rng.random(n) < 0.45
    corp_mail = join(
        "finance",
        int_text(rng.integers(1, 99, n)),
        "@",
        take(("163.com", "126.com", "qq.com"), rng.integers(0, 3, n)),
    )
    out = pc.if_else(pa.array(use_qq), qq, pin)
    return pc.if_else(pa.array(cust.corp), corp_mail, out)
