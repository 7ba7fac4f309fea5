"""The domain's vocabularies, written once: codes, their order, English labels and attributes.

Every list of codes the bank's data uses — product categories, tiers, channels, transaction types,
roles, risk levels … — lives here and nowhere else. The Django models build their choices from it
(:mod:`qiao.core.choices`), ingest validates against it, the analytics compute with it, the demo
generates from it and the pages label with it. ``tests/test_vocab.py`` fails when a second copy
appears in the source tree.

This module never imports Django (``qiao.analytics`` imports it; the import contract in
``pyproject.toml`` checks that). Labels are English, the source language, marked for translation
with no-op markers: ``gettext_noop`` is one of ``makemessages``' default keywords and
``pgettext_noop`` is added by ``qiao.core``'s ``makemessages`` command; Django code translates
them through :mod:`qiao.core.choices`. ``zh`` is the Chinese term of the seeds, for reference and
for the tier rule sets' defaults.

A code is stable in data, files and APIs; a label may change. A vocabulary's order is the order
pages, forms and reports use (tiers best first).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "ACCOUNT_STATUSES",
    "ASSESSMENT_SOURCES",
    "CAMPAIGN_AIMS",
    "CATEGORIES",
    "CHANNELS",
    "CLOSE_REASONS",
    "CONSENT_CHANNELS",
    "CONSENT_SOURCES",
    "CONSENT_STATES",
    "CONTACT_CHANNELS",
    "CURRENCIES",
    "CUSTOMER_LANGUAGES",
    "CUSTOMER_TYPES",
    "DECLINE_REASONS",
    "DEPOSIT_TIERS",
    "EBANKING_SERVICES",
    "EBANKING_SOURCES",
    "FACILITY_STATUSES",
    "FINDING_KINDS",
    "GENDERS",
    "GRADES",
    "GROUP_LINKS",
    "GROUP_ROLES",
    "GUARANTEE_TYPES",
    "ID_TYPES",
    "LIFECYCLE_STAGES",
    "LIST_KINDS",
    "LIST_SOURCES",
    "LIST_STATUSES",
    "LOAN_CLASSES",
    "LOAN_TYPES",
    "MARITAL_STATUSES",
    "MOTIVES",
    "NEED_MODES",
    "OWNERSHIP_ROLES",
    "OWNERSHIP_TYPES",
    "PAYROLL_TYPES",
    "PAY_METHODS",
    "PYRAMID_TIERS",
    "RELATIONS",
    "RISK_LEVELS",
    "RISK_STYLES",
    "RISK_TOLERANCES",
    "ROLES",
    "SALE_STATUSES",
    "SIGNAL_KINDS",
    "SIZE_CLASSES",
    "SUGGESTION_STATUSES",
    "TIER_SCHEMES",
    "TXN_TYPES",
    "UNIT_LEVELS",
    "KEY_ACCOUNT_GRADES",
    "KEY_ACCOUNT_SOURCES",
    "KEY_ACCOUNT_STATUSES",
    "KEY_ACCOUNT_ROLES",
    "WARNING_DECISIONS",
    "WARNING_REASONS",
    "EXIT_STEP_KINDS",
    "EXIT_PLAN_STATUSES",
    "EXIT_OUTCOMES",
    "VOCABULARIES",
    "WARNING_STATES",
    "Term",
    "Vocabulary",
    "gettext_noop",
    "pgettext_noop",
]


def gettext_noop(message: str) -> str:
    """Mark ``message`` for translation without translating it (a ``makemessages`` keyword)."""
    return message


class _InContext(str):
    """A label marked with its translation context (what :func:`pgettext_noop` returns)."""

    context: str


def pgettext_noop(context: str, message: str) -> str:
    """Mark ``message`` with a context (``qiao.core``'s ``makemessages`` adds the keyword)."""
    marked = _InContext(message)
    marked.context = context
    return marked


@dataclass(frozen=True)
class Term:
    """One code of a vocabulary.

    ``label`` is the English label (translated by Django code), ``context`` its translation
    context when the same English word means different things (``Dormant`` account, ``Dormant``
    risk style), ``zh`` the seeds' Chinese term and ``flags`` the code's attributes (a category's
    ``aum``, a channel's ``electronic`` …), each declared by its vocabulary.
    """

    code: str
    label: str
    zh: str = ""
    context: str | None = None
    flags: frozenset[str] = frozenset()


class Vocabulary:
    """An ordered set of :class:`Term` with the attribute flags its terms may carry."""

    def __init__(self, name: str, terms: Iterable[Term], flags: Iterable[str] = ()) -> None:
        self.name = name
        self.terms: tuple[Term, ...] = tuple(terms)
        self.flags: frozenset[str] = frozenset(flags)
        self._by_code = {t.code: t for t in self.terms}
        if len(self._by_code) != len(self.terms):
            raise ValueError(f"vocabulary {name!r}: a code is listed twice")
        for t in self.terms:
            if not t.flags <= self.flags:
                raise ValueError(
                    f"vocabulary {name!r}, code {t.code!r}: unknown flag "
                    f"{sorted(t.flags - self.flags)[0]!r}"
                )

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes in the vocabulary's order."""
        return tuple(self._by_code)

    def having(self, flag: str) -> tuple[str, ...]:
        """The codes carrying ``flag``, in order."""
        if flag not in self.flags:
            raise KeyError(f"vocabulary {self.name!r} has no flag {flag!r}")
        return tuple(t.code for t in self.terms if flag in t.flags)

    def label(self, code: str) -> str:
        """The English label of ``code`` (untranslated; Django code uses qiao.core.choices)."""
        return self._by_code[code].label

    def rank(self, code: str) -> int:
        """The position of ``code`` in the vocabulary's order (0 first)."""
        return self.codes.index(code)

    def __getitem__(self, code: str) -> Term:
        return self._by_code[code]

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, {list(self.codes)})"


def _t(code: str, label: str, zh: str = "", *flags: str) -> Term:
    return Term(code, str(label), zh, getattr(label, "context", None), frozenset(flags))


_ = gettext_noop

# ------------------------------------------------------------------------------------ products

#: Product categories. ``aum``: balances count towards assets under management; ``deposit``:
#: a deposit (the deposit tiers of seed 000 use these); ``rated``: an investment product that must
#: carry a risk level R1–R5; ``liability``: the customer owes the bank.
CATEGORIES = Vocabulary(
    "category",
    [
        _t("DEMAND", _("Demand deposit"), "活期存款", "aum", "deposit"),
        _t("TIME", _("Time deposit"), "定期存款", "aum", "deposit"),
        _t("WEALTH", _("Wealth-management product"), "理财产品", "aum", "rated"),
        _t("FUND", _("Fund"), "基金", "aum", "rated"),
        _t("BOND", _("Treasury bond"), "国债", "aum", "rated"),
        _t("INSURANCE", _("Insurance"), "保险", "aum", "rated"),
        _t("PRECIOUS_METAL", _("Precious metal"), "贵金属", "aum", "rated"),
        _t("LOAN", _("Loan"), "贷款", "liability"),
        _t("CARD", _("Credit card"), "信用卡", "liability"),
        _t("SETTLEMENT", _("Settlement and cash management"), "结算与现金管理"),
    ],
    flags=("aum", "deposit", "rated", "liability"),
)

#: A product's risk level (R1–R5). ``risky``: R3 and above (a risky holding in the analytics).
RISK_LEVELS = Vocabulary(
    "risk level",
    [
        _t("R1", _("R1 low"), "低风险"),
        _t("R2", _("R2 medium-low"), "中低风险"),
        _t("R3", _("R3 medium"), "中风险", "risky"),
        _t("R4", _("R4 medium-high"), "中高风险", "risky"),
        _t("R5", _("R5 high"), "高风险", "risky"),
    ],
    flags=("risky",),
)

#: A customer's assessed risk tolerance C1–C5; suitability: a product's R-level ≤ the C-level.
RISK_TOLERANCES = Vocabulary(
    "risk tolerance",
    [
        _t("C1", _("Conservative"), "保守型"),
        _t("C2", _("Prudent"), "稳健型"),
        _t("C3", _("Balanced"), "平衡型"),
        _t("C4", _("Growth"), "成长型"),
        _t("C5", _("Aggressive"), "进取型"),
    ],
)

#: Deposit and product motives (seed 004 L84–92): accumulate, grow, borrow.
MOTIVES = Vocabulary(
    "motive",
    [
        _t("ACCUMULATE", _("Accumulation"), "积累"),
        _t("APPRECIATE", _("Appreciation"), "增值"),
        _t("LOAN", _("Getting a loan"), "贷款"),
    ],
)

#: E-banking services a customer signs up for (seed 002). ``corporate``: for companies only.
EBANKING_SERVICES = Vocabulary(
    "e-banking service",
    [
        _t("ONLINE", _("Online banking"), "网上银行"),
        _t("MOBILE", _("Mobile banking"), "手机银行"),
        _t("PHONE", _("Phone banking"), "电话银行"),
        _t("WECHAT", _("WeChat banking"), "微信银行"),
        _t(
            "CORP_ONLINE_QUERY",
            _("Corporate online banking (query)"),
            "企业网银（查询版）",
            "corporate",
        ),
        _t(
            "CORP_ONLINE_PRO",
            _("Corporate online banking (professional)"),
            "企业网银（专业版）",
            "corporate",
        ),
        _t("BANK_LINK", _("Bank-enterprise link"), "银企直联", "corporate"),
    ],
    flags=("corporate",),
)

#: How an e-banking service was opened (seed 002 R4: 主动开通 by the customer, or on the bank's
#: recommendation).
EBANKING_SOURCES = Vocabulary(
    "e-banking opening source",
    [
        _t("SELF", _("By the customer"), "主动开通"),
        _t("RECOMMENDED", _("On recommendation"), "银行推荐"),
    ],
)

# -------------------------------------------------------------------------------- transactions

#: Transaction channels. ``counter``: at the counter; ``electronic``: e-banking (seed 002's
#: substitution rate counts these); ``self_service``: ATM and POS.
CHANNELS = Vocabulary(
    "channel",
    [
        _t("COUNTER", _("Counter"), "柜面", "counter"),
        _t("ATM", _("ATM"), "自助设备", "self_service"),
        _t("ONLINE", _("Online banking"), "网上银行", "electronic"),
        _t("MOBILE", _("Mobile banking"), "手机银行", "electronic"),
        _t("PHONE", _("Phone banking"), "电话银行", "electronic"),
        _t("WECHAT", _("WeChat"), "微信银行", "electronic"),
        _t("POS", _("POS"), "POS", "self_service"),
        _t("CORP_ONLINE", _("Corporate online banking"), "企业网银", "electronic"),
        _t("BANK_LINK", _("Bank-enterprise link"), "银企直联", "electronic"),
    ],
    flags=("counter", "electronic", "self_service"),
)

#: Transaction types of the transactions extract. ``bank_initiated``: the bank, not the customer,
#: starts it (not counted as the customer's activity; ``scoring.toml`` may choose otherwise).
TXN_TYPES = Vocabulary(
    "transaction type",
    [
        _t("DEPOSIT", _("Deposit"), "存款"),
        _t("WITHDRAWAL", _("Withdrawal"), "取款"),
        _t("TRANSFER", _("Transfer"), "转账"),
        _t("PAYMENT", _("Payment"), "支付"),
        _t("BILL_PAY", _("Bill payment"), "缴费"),
        _t("TOPUP", _("Top-up"), "充值"),
        _t("SALARY", _("Salary"), "代发工资", "bank_initiated"),
        _t("INTEREST", _("Interest"), "利息", "bank_initiated"),
        _t("FEE", _("Fee"), "手续费", "bank_initiated"),
        _t("PURCHASE", _("Purchase"), "申购"),
        _t("REDEMPTION", _("Redemption"), "赎回"),
        _t("LOAN_DRAWDOWN", _("Loan drawdown"), "贷款发放"),
        _t("LOAN_REPAYMENT", _("Loan repayment"), "贷款还款"),
        _t("OTHER", _("Other"), "其他"),
    ],
    flags=("bank_initiated",),
)

#: How a payment was made (seed 002 R6, the optional ``pay_method`` of a transaction): through a
#: third-party payment platform, the bank's own online-banking payment, quick pay (快捷支付: the
#: card bound to a platform, no online-banking login) or a card at a terminal.
PAY_METHODS = Vocabulary(
    "payment method",
    [
        _t("THIRD_PARTY", _("Third-party payment"), "三方支付"),
        _t("EBANK", _("Online-banking payment"), "网银支付"),
        _t("QUICK_PAY", _("Quick pay"), "快捷支付"),
        _t("CARD", _("Card at a terminal"), "刷卡支付"),
    ],
)

# ----------------------------------------------------------------------------------- the bank

#: Levels of the organisation tree, from the top (the order is the depth).
UNIT_LEVELS = Vocabulary(
    "unit level",
    [
        _t("HEAD_OFFICE", _("Head office"), "总行"),
        _t("BRANCH", _("Branch"), "分行"),
        _t("SUB_BRANCH", _("Sub-branch"), "支行"),
        _t("OUTLET", _("Outlet"), "网点"),
    ],
)

#: Staff roles. ``owner``: may own customers; ``subtree``: sees the organisation subtree;
#: ``bankwide``: head-office roles that see every customer.
ROLES = Vocabulary(
    "role",
    [
        _t("CM", _("Customer manager"), "客户经理", "owner"),
        _t("SENIOR_CM", _("Senior customer manager"), "高级客户经理", "owner"),
        _t("TEAM_LEAD", _("Team lead"), "团队长", "owner", "subtree"),
        _t("OUTLET_HEAD", _("Outlet head"), "网点负责人", "owner", "subtree"),
        _t("LOBBY", _("Lobby manager / teller"), "大堂经理 / 柜员"),
        _t("PRODUCT_MANAGER", _("Product manager"), "产品经理", "bankwide"),
        _t("RISK_MANAGER", _("Risk manager"), "风险经理", "bankwide"),
        _t("ANALYST", _("Analyst"), "分析员", "bankwide"),
        _t("MARKETING", _("Marketing manager"), "营销经理", "bankwide"),
        _t("ADMIN", _("Administrator"), "管理员", "bankwide"),
        _t("AUDITOR", _("Auditor"), "审计", "bankwide"),
    ],
    flags=("owner", "subtree", "bankwide"),
)

#: Customer-manager grades (seed 003), lowest first.
GRADES = Vocabulary(
    "grade",
    [
        _t("JUNIOR", _("Junior"), "初级"),
        _t("INTERMEDIATE", _("Intermediate"), "中级"),
        _t("SENIOR", _("Senior"), "高级"),
        _t("PRINCIPAL", _("Principal"), "资深"),
    ],
)

# ---------------------------------------------------------------------------------- customers

#: The customer pyramid (seed 004 L28–36), best first; 限制 RESTRICTED is an override tier.
PYRAMID_TIERS = Vocabulary(
    "pyramid tier",
    [
        _t("DIAMOND", _("Diamond"), "钻石"),
        _t("PLATINUM", _("Platinum"), "白金"),
        _t("GOLD", _("Gold"), "金"),
        _t("ORDINARY", _("Ordinary"), "普通"),
        _t("RESTRICTED", _("Restricted"), "限制"),
    ],
)

#: The deposit tiers (seed 000 L29: 10–20万 优质, 20–30万 重点维护, 30万+ VIP), best first.
DEPOSIT_TIERS = Vocabulary(
    "deposit tier",
    [
        _t("VIP", _("VIP"), "贵宾"),
        _t("KEY", pgettext_noop("deposit tier", "Key"), "重点"),
        _t("QUALITY", pgettext_noop("deposit tier", "Quality"), "优质"),
        _t("ORDINARY", _("Ordinary"), "普通"),
    ],
)

#: The tier schemes by their name in the tier rule sets (``qiao/analytics/config/tiers.toml``).
#: Pages show the active rule set's labels (qiao.scoring.tiers); these are the defaults.
TIER_SCHEMES: dict[str, Vocabulary] = {"pyramid": PYRAMID_TIERS, "deposit": DEPOSIT_TIERS}

#: Lifecycle stages (seed 002).
LIFECYCLE_STAGES = Vocabulary(
    "lifecycle stage",
    [
        _t("EXPLORATION", pgettext_noop("lifecycle stage", "Exploration"), "考察期"),
        _t("DEVELOPMENT", pgettext_noop("lifecycle stage", "Development"), "发展期"),
        _t("MATURITY", pgettext_noop("lifecycle stage", "Maturity"), "成熟期"),
        _t("DECLINE", pgettext_noop("lifecycle stage", "Decline"), "衰退期"),
    ],
)

#: How a customer's needs show (seed 004 L68).
NEED_MODES = Vocabulary(
    "need mode",
    [
        _t("PASSIVE", pgettext_noop("need mode", "Passive"), "被动"),
        _t("ACTIVE", pgettext_noop("need mode", "Active"), "主动"),
    ],
)

#: Risk-style classes of the K-means rating (seed 001 篇5).
RISK_STYLES = Vocabulary(
    "risk style",
    [
        _t("CONSERVATIVE", _("Conservative"), "保守"),
        _t("STEADY", _("Steady"), "稳健"),
        _t("BALANCED", _("Balanced"), "平衡"),
        _t("AGGRESSIVE", _("Aggressive"), "进取"),
        _t("DORMANT", pgettext_noop("risk style", "Dormant"), "沉寂"),
    ],
)

# ----------------------------------------------------------------- a customer's master data

#: Individual (个人) or corporate (对公) customer. ``corporate``: a company.
CUSTOMER_TYPES = Vocabulary(
    "customer type",
    [
        _t("P", _("Individual"), "个人"),
        _t("C", _("Corporate"), "对公", "corporate"),
    ],
    flags=("corporate",),
)

#: Identity documents (the ID number's check follows the type: qiao.customers.rules).
ID_TYPES = Vocabulary(
    "ID type",
    [
        _t("RIC", _("Resident ID card"), "居民身份证"),
        _t("USCC", _("Unified social credit code"), "统一社会信用代码"),
        _t("PASSPORT", _("Passport"), "护照"),
        _t("OTHER", _("Other"), "其他证件"),
    ],
)

GENDERS = Vocabulary("gender", [_t("M", _("Male"), "男"), _t("F", _("Female"), "女")])

MARITAL_STATUSES = Vocabulary(
    "marital status",
    [
        _t("SINGLE", _("Single"), "未婚"),
        _t("MARRIED", _("Married"), "已婚"),
        _t("DIVORCED", _("Divorced"), "离异"),
        _t("WIDOWED", _("Widowed"), "丧偶"),
    ],
)

#: A company's ownership (企业性质).
OWNERSHIP_TYPES = Vocabulary(
    "ownership type",
    [
        _t("STATE", _("State-owned"), "国有"),
        _t("COLLECTIVE", _("Collective"), "集体"),
        _t("PRIVATE", _("Private"), "民营"),
        _t("FOREIGN", _("Foreign-invested"), "外资"),
        _t("JOINT", _("Joint venture"), "合资"),
        _t("OTHER", _("Other"), "其他"),
    ],
)

#: A company's size class (企业规模), largest first.
SIZE_CLASSES = Vocabulary(
    "size class",
    [
        _t("LARGE", _("Large"), "大型"),
        _t("MEDIUM", _("Medium"), "中型"),
        _t("SMALL", _("Small (SME)"), "小型"),
        _t("MICRO", _("Micro (SME)"), "微型"),
    ],
)

#: A member's role in a group of companies (集团).
GROUP_ROLES = Vocabulary(
    "group role",
    [
        _t("PARENT", _("Parent company"), "母公司"),
        _t("SUBSIDIARY", _("Subsidiary"), "子公司"),
        _t("ASSOCIATE", _("Associate"), "联营企业"),
        _t("OTHER", _("Other member"), "其他成员"),
    ],
)

#: What ties a member to its group.
GROUP_LINKS = Vocabulary(
    "group link",
    [
        _t("EQUITY", _("Equity"), "股权关联"),
        _t("CONTRACT", _("Contract"), "协议关联"),
        _t("FAMILY", _("Family"), "家族关联"),
    ],
)

#: How one customer is related to another (read: customer *relation* related customer).
#: ``family``: kin (a family link connects exposures, docs/keyaccounts.md); ``control``: a person
#: who controls or owns part of a company (a control link connects them too).
RELATIONS = Vocabulary(
    "relation",
    [
        _t("SPOUSE", _("Spouse"), "配偶", "family"),
        _t("PARENT", _("Parent"), "父母", "family"),
        _t("CHILD", _("Child"), "子女", "family"),
        _t("SIBLING", _("Sibling"), "兄弟姐妹", "family"),
        _t("RELATIVE", _("Relative"), "亲属", "family"),
        _t("REFERRED_BY", _("Referred by"), "推荐人"),
        _t("KEY_PERSON", _("Key person in the company"), "企业关键人", "control"),
        _t("LEGAL_REP", _("Legal representative of"), "法定代表人", "control"),
        _t("SHAREHOLDER", _("Shareholder of"), "股东", "control"),
    ],
    flags=("family", "control"),
)

#: A customer manager's part in a customer (主管户 / 协管户).
OWNERSHIP_ROLES = Vocabulary(
    "ownership role",
    [
        _t("PRIMARY", _("Primary"), "主管户"),
        _t("SECONDARY", _("Secondary"), "协管户"),
    ],
)

#: An account's status.
ACCOUNT_STATUSES = Vocabulary(
    "account status",
    [
        _t("ACTIVE", _("Active"), "正常"),
        _t("DORMANT", _("Dormant"), "睡眠"),
        _t("CLOSED", _("Closed"), "销户"),
    ],
)

#: Currencies of accounts and products (ISO 4217).
CURRENCIES = Vocabulary(
    "currency",
    [
        _t("CNY", _("Renminbi yuan"), "人民币"),
        _t("USD", _("US dollar"), "美元"),
        _t("EUR", _("Euro"), "欧元"),
        _t("HKD", _("Hong Kong dollar"), "港币"),
        _t("JPY", _("Japanese yen"), "日元"),
        _t("GBP", _("Pound sterling"), "英镑"),
    ],
)

#: Payroll and withholding relations of an account (代发代扣).
PAYROLL_TYPES = Vocabulary(
    "payroll type",
    [
        _t("PAYROLL", _("Payroll"), "代发工资"),
        _t("SOCIAL_SECURITY", _("Social security"), "代发社保"),
        _t("FISCAL", _("Fiscal"), "财政代发"),
    ],
)

# -------------------------------------------------------------------------------- engagement

#: How a customer manager contacts a customer (contact logs, cadence).
CONTACT_CHANNELS = Vocabulary(
    "contact channel",
    [
        _t("PHONE", _("Phone call"), "电话"),
        _t("MEETING", _("Meeting"), "面谈", "in_person"),
        _t("VISIT", _("Visit"), "拜访", "in_person"),
        _t("SMS", _("SMS"), "短信"),
        _t("WECHAT", _("WeChat"), "微信"),
        _t("EMAIL", _("E-mail"), "电子邮件"),
        _t("OUTLET", _("At the outlet"), "网点", "in_person"),
    ],
    # in_person: the customer came or was met (a campaign counts it as a visit).
    flags=("in_person",),
)

#: Channels a customer consents (or not) to be marketed through.
CONSENT_CHANNELS = Vocabulary(
    "consent channel",
    [
        _t("SMS", _("SMS"), "短信", "message", "file", "mobile"),
        _t("PHONE", _("Phone"), "电话", "mobile"),
        _t("EMAIL", _("E-mail"), "电子邮件", "message"),
        _t("WECHAT", _("WeChat"), "微信", "message", "file", "mobile"),
        _t("POST", pgettext_noop("consent channel", "Post"), "邮寄", "message", "file"),
    ],
    # message: a campaign step on it needs a written message; file: sent as an outbound batch
    # file for the bank's message platform; mobile: reaches the customer's mobile number.
    flags=("message", "file", "mobile"),
)

#: A channel's consent: given, or withdrawn (no row at all is no consent either).
CONSENT_STATES = Vocabulary(
    "consent state",
    [
        _t("GIVEN", pgettext_noop("consent state", "Given"), "同意"),
        _t("WITHDRAWN", pgettext_noop("consent state", "Withdrawn"), "撤回"),
    ],
)

#: Where a consent (or its withdrawal) was recorded.
CONSENT_SOURCES = Vocabulary(
    "consent source",
    [
        _t("CORE", _("Core banking"), "核心系统"),
        _t("BRANCH", _("Recorded by staff at the branch"), "网点/客户经理"),
        _t("REPLY", _("Opt-out reply to a message"), "回复退订"),
        _t("ONLINE", _("Online or mobile banking"), "网上/手机银行"),
    ],
)

#: The language a customer's messages are written in (Django's language codes).
CUSTOMER_LANGUAGES = Vocabulary(
    "customer language",
    [
        _t("zh-hans", pgettext_noop("message language", "Simplified Chinese"), "简体中文"),
        _t("zh-hant", pgettext_noop("message language", "Traditional Chinese"), "繁體中文"),
        _t("en", pgettext_noop("message language", "English"), "英文"),
    ],
)

#: What a campaign is for.
CAMPAIGN_AIMS = Vocabulary(
    "campaign aim",
    [
        _t("CROSS_SELL", _("Cross-sell"), "交叉销售"),
        _t("UP_SELL", _("Up-sell"), "向上销售"),
        _t("RETENTION", _("Retention"), "客户保留"),
        _t("ACQUISITION", _("Acquisition"), "获客"),
        _t("WIN_BACK", _("Win-back"), "客户挽回"),
        _t("AFTER_SALES", _("After-sales"), "售后服务"),
    ],
)

# ---------------------------------------------------------------------------------- the shelf

#: Where a product stands on the shelf. ``selling``: it may be suggested and sold.
SALE_STATUSES = Vocabulary(
    "sale status",
    [
        _t("NEW_ISSUE", _("New issue"), "新发行", "selling"),
        _t("ON_SALE", _("On sale"), "在售", "selling"),
        _t("CLOSING", _("Closing soon"), "即将停售", "selling"),
        _t("CLOSED", pgettext_noop("sale status", "Closed"), "已停售"),
    ],
    flags=("selling",),
)

#: Where a risk assessment was made.
ASSESSMENT_SOURCES = Vocabulary(
    "assessment source",
    [
        _t("BRANCH", _("At the branch, with the customer manager"), "网点面签"),
        _t("CORE", _("Loaded from core banking"), "核心系统导入"),
    ],
)

#: What became of a next-best-product suggestion.
SUGGESTION_STATUSES = Vocabulary(
    "suggestion status",
    [
        _t("OPEN", pgettext_noop("suggestion status", "Open"), "待跟进"),
        _t("TAKEN", _("Taken up"), "已采纳"),
        _t("DECLINED", _("Declined"), "已拒绝"),
        _t("NOT_NOW", _("Not now"), "暂不考虑"),
    ],
)

#: Why a customer declined a suggestion.
DECLINE_REASONS = Vocabulary(
    "decline reason",
    [
        _t("NO_NEED", _("No need"), "无需求"),
        _t("RATE", _("Rate not attractive"), "收益不够"),
        _t("RISK", _("Too risky for the customer"), "风险顾虑"),
        _t("LIQUIDITY", _("Money needed elsewhere"), "资金另有安排"),
        _t("COMPETITOR", _("Bought elsewhere"), "已在他行购买"),
        _t("OTHER", pgettext_noop("decline reason", "Other"), "其他"),
    ],
)

#: Why a work-list item was closed without a contact (kept on the item and in the audit trail).
CLOSE_REASONS = Vocabulary(
    "close reason",
    [
        _t("MOOT", _("No longer needed"), "已无必要"),
        _t("DONE_ELSEWHERE", _("Done elsewhere"), "已通过其他渠道办理"),
        _t("DECLINED", _("Customer declined"), "客户谢绝"),
    ],
)

# ---------------------------------------------------------------------------------- risk

#: Key-account early-warning states (seed 003): 正常 → 关注 → 可疑 → 退出.
WARNING_STATES = Vocabulary(
    "warning state",
    [
        _t("NORMAL", pgettext_noop("warning state", "Normal"), "正常"),
        _t("WATCH", pgettext_noop("warning state", "Watch"), "关注", "in_warning"),
        _t("DOUBTFUL", pgettext_noop("warning state", "Doubtful"), "可疑", "in_warning"),
        _t("EXIT", pgettext_noop("warning state", "Exit"), "退出", "in_warning"),
    ],
    # in_warning: every state but normal (a review or an exit plan is due).
    flags=("in_warning",),
)

#: The five-category loan classification (贷款五级分类), best first. ``non_performing``: the
#: last three (不良, compliance.md §10).
LOAN_CLASSES = Vocabulary(
    "loan class",
    [
        _t("PASS", pgettext_noop("loan class", "Pass"), "正常"),
        _t("SPECIAL_MENTION", pgettext_noop("loan class", "Special mention"), "关注"),
        _t("SUBSTANDARD", pgettext_noop("loan class", "Substandard"), "次级", "non_performing"),
        _t("DOUBTFUL", pgettext_noop("loan class", "Doubtful"), "可疑", "non_performing"),
        _t("LOSS", pgettext_noop("loan class", "Loss"), "损失", "non_performing"),
    ],
    flags=("non_performing",),
)

#: What a loan is for (贷款品种).
LOAN_TYPES = Vocabulary(
    "loan type",
    [
        _t("WORKING_CAPITAL", _("Working-capital loan"), "流动资金贷款"),
        _t("FIXED_ASSET", _("Fixed-asset loan"), "固定资产贷款"),
        _t("TRADE_FINANCE", _("Trade finance"), "贸易融资"),
        _t("DISCOUNT", _("Bill discount"), "票据贴现"),
        _t("MORTGAGE", _("Home mortgage"), "个人住房贷款"),
        _t("CONSUMER", _("Consumer loan"), "个人消费贷款"),
        _t("BUSINESS", _("Personal business loan"), "个人经营贷款"),
        _t("OTHER", pgettext_noop("loan type", "Other"), "其他"),
    ],
)

#: How a credit facility or a loan is secured (担保方式). ``secured``: a third party or an asset
#: stands behind it (a guarantee row may name the guarantor).
GUARANTEE_TYPES = Vocabulary(
    "guarantee type",
    [
        _t("CREDIT", _("Unsecured (on credit)"), "信用"),
        _t("GUARANTEE", _("Guaranteed by a third party"), "保证", "secured"),
        _t("MORTGAGE", pgettext_noop("guarantee type", "Mortgage"), "抵押", "secured"),
        _t("PLEDGE", _("Pledge"), "质押", "secured"),
        _t("MIXED", _("Several kinds of security"), "组合担保", "secured"),
    ],
    flags=("secured",),
)

#: A credit facility's status (授信状态). ``live``: it may still be drawn on.
FACILITY_STATUSES = Vocabulary(
    "facility status",
    [
        _t("ACTIVE", pgettext_noop("facility status", "Active"), "有效", "live"),
        _t("FROZEN", _("Frozen"), "冻结"),
        _t("EXPIRED", _("Expired"), "到期"),
        _t("CLOSED", pgettext_noop("facility status", "Closed"), "终止"),
    ],
    flags=("live",),
)

#: External risk signals about a customer (外部风险信号), loaded with their source and date.
SIGNAL_KINDS = Vocabulary(
    "risk signal kind",
    [
        _t("COURT_ENFORCEMENT", _("Court enforcement"), "法院强制执行"),
        _t("LITIGATION", _("Lawsuit"), "涉诉"),
        _t("TAX", _("Tax irregularity"), "税务异常"),
        _t("ADMIN_PENALTY", _("Administrative penalty"), "行政处罚"),
        _t("NEGATIVE_NEWS", _("Negative news"), "负面舆情"),
        _t("RATING_DOWNGRADE", _("Rating downgrade"), "评级下调"),
        _t("OTHER", pgettext_noop("risk signal kind", "Other"), "其他"),
    ],
)

#: The bank's lists of customers (seed 003 L55, seed 004 L154).
LIST_KINDS = Vocabulary(
    "customer list",
    [
        _t("BLACK", _("Blacklist"), "黑名单"),
        _t("RED", _("Red list"), "红名单"),
    ],
)

#: Where an entry of a list stands. ``open``: proposed or in force.
LIST_STATUSES = Vocabulary(
    "list entry status",
    [
        _t("PROPOSED", pgettext_noop("list entry status", "Proposed"), "待审批", "open"),
        _t("APPROVED", pgettext_noop("list entry status", "In force"), "已生效", "open"),
        _t("REJECTED", pgettext_noop("list entry status", "Rejected"), "已驳回"),
        _t("REMOVED", pgettext_noop("list entry status", "Removed"), "已移出"),
    ],
    flags=("open",),
)

#: Where a list entry comes from.
LIST_SOURCES = Vocabulary(
    "list entry source",
    [
        _t("CORE", _("Loaded from core banking"), "核心系统导入"),
        _t("MANUAL", _("Proposed in Qiao"), "行内提出"),
    ],
)

#: What the classification check found (docs/data-interface.md, loans).
FINDING_KINDS = Vocabulary(
    "classification finding",
    [
        _t("BELOW_FLOOR", _("Classified better than its days overdue allow"), "分类低于逾期下限"),
        _t(
            "MIXED_CLASSES",
            _("The debtor's loans are classified differently"),
            "同一债务人分类不一致",
        ),
    ],
)


# ------------------------------------------------------------------ key accounts, early warning

#: A key account's grade (seed 001 L131: each grade has its own visit standard), highest first.
KEY_ACCOUNT_GRADES = Vocabulary(
    "key-account grade",
    [
        _t("KA1", _("Key account, grade 1"), "一级大客户"),
        _t("KA2", _("Key account, grade 2"), "二级大客户"),
        _t("KA3", _("Key account, grade 3"), "三级大客户"),
    ],
)

#: How a customer came onto the key-account list.
KEY_ACCOUNT_SOURCES = Vocabulary(
    "key-account source",
    [
        _t("RULE", _("By the designation rules"), "规则认定"),
        _t("MANUAL", _("Proposed by a customer manager"), "人工推荐"),
    ],
)

#: A key-account designation's status (maker–checker: the outlet head decides).
KEY_ACCOUNT_STATUSES = Vocabulary(
    "key-account status",
    [
        _t("PROPOSED", pgettext_noop("key-account status", "Proposed"), "待审批"),
        _t("APPROVED", pgettext_noop("key-account status", "Approved"), "已认定"),
        _t("REJECTED", pgettext_noop("key-account status", "Rejected"), "未通过"),
        _t("REMOVED", pgettext_noop("key-account status", "Removed"), "已移出"),
    ],
)

#: A member's role in a key-account team (seed 003 L51, 大客户经理团队).
KEY_ACCOUNT_ROLES = Vocabulary(
    "key-account role",
    [
        _t("LEAD", _("Lead customer manager"), "主办客户经理"),
        _t("PRODUCT_SPECIALIST", _("Product specialist"), "产品专家"),
        _t("RISK_MANAGER", pgettext_noop("key-account role", "Risk manager"), "风险经理"),
        _t("BACKUP_CM", _("Back-up customer manager"), "协办客户经理"),
    ],
)

#: An early-warning change's status: proposed by the rules or a CM, decided by a risk manager.
WARNING_DECISIONS = Vocabulary(
    "warning decision",
    [
        _t("PROPOSED", pgettext_noop("warning decision", "Proposed"), "待确认"),
        _t("CONFIRMED", pgettext_noop("warning decision", "Confirmed"), "已确认"),
        _t("REJECTED", pgettext_noop("warning decision", "Rejected"), "已驳回"),
    ],
)

#: Why the early-warning rules propose a state (qiao.analytics.warning; docs/keyaccounts.md).
WARNING_REASONS = Vocabulary(
    "warning reason",
    [
        _t("LOAN_CLASS", _("Loan classification"), "贷款分类"),
        _t("WRITTEN_OFF", _("Loan written off"), "贷款核销"),
        _t("OVERDUE", _("Days overdue"), "逾期天数"),
        _t("DEPOSIT_OUTFLOW", _("Deposit outflow"), "存款流出"),
        _t("AUM_DECLINE", _("Decline in assets"), "资产下降"),
        _t("SETTLEMENT_DECLINE", _("Decline in settlement flows"), "结算量下降"),
        _t("UTILISATION_JUMP", _("Credit line drawn fast"), "授信使用率骤升"),
        _t("RISK_SIGNAL", _("External risk signal"), "外部风险信号"),
        _t("LINKED", _("Group member or guarantor in warning"), "关联方预警"),
        _t("BLACKLISTED", _("On the blacklist"), "黑名单"),
        _t("NO_IMPROVEMENT", _("No improvement while watched"), "关注期内未改善"),
        _t("CLEARED", _("No trigger any more"), "预警因素消除"),
        _t("STAFF", _("Proposed by staff"), "人工提出"),
    ],
)

#: An exit plan's step (seed 003 L55, 退出方案).
EXIT_STEP_KINDS = Vocabulary(
    "exit step",
    [
        _t("REDUCE_LIMIT", _("Reduce the credit limit"), "压降授信额度"),
        _t("STOP_DRAWDOWN", _("Stop new drawdowns"), "停止新增提款"),
        _t("CALL_COLLATERAL", _("Call in collateral"), "追加或处置押品"),
        _t("RECOVER", _("Recover the debt"), "清收"),
    ],
)

#: An exit plan's status: open until the exposure reaches zero.
EXIT_PLAN_STATUSES = Vocabulary(
    "exit plan status",
    [
        _t("OPEN", pgettext_noop("exit plan status", "Open"), "执行中"),
        _t("CLOSED", pgettext_noop("exit plan status", "Closed"), "已退出"),
    ],
)

#: How a closed exit plan ended: the exposure was recovered (repaid, collateral realised), or
#: what was left was written off (核销: a loan load marks the loan written off).
EXIT_OUTCOMES = Vocabulary(
    "exit outcome",
    [
        _t("RECOVERED", _("Recovered"), "已收回"),
        _t("WRITTEN_OFF", pgettext_noop("exit outcome", "Written off"), "已核销"),
    ],
)

del _

#: Every vocabulary by name (the drift test walks them).
VOCABULARIES: dict[str, Vocabulary] = {
    v.name: v
    for v in (
        CATEGORIES,
        RISK_LEVELS,
        RISK_TOLERANCES,
        MOTIVES,
        EBANKING_SERVICES,
        EBANKING_SOURCES,
        CHANNELS,
        TXN_TYPES,
        PAY_METHODS,
        UNIT_LEVELS,
        ROLES,
        GRADES,
        PYRAMID_TIERS,
        DEPOSIT_TIERS,
        LIFECYCLE_STAGES,
        NEED_MODES,
        RISK_STYLES,
        CUSTOMER_TYPES,
        ID_TYPES,
        GENDERS,
        MARITAL_STATUSES,
        OWNERSHIP_TYPES,
        SIZE_CLASSES,
        GROUP_ROLES,
        GROUP_LINKS,
        RELATIONS,
        OWNERSHIP_ROLES,
        ACCOUNT_STATUSES,
        CURRENCIES,
        PAYROLL_TYPES,
        CONTACT_CHANNELS,
        CONSENT_CHANNELS,
        CONSENT_STATES,
        CONSENT_SOURCES,
        CUSTOMER_LANGUAGES,
        CAMPAIGN_AIMS,
        WARNING_STATES,
        LOAN_CLASSES,
        LOAN_TYPES,
        GUARANTEE_TYPES,
        FACILITY_STATUSES,
        SIGNAL_KINDS,
        LIST_KINDS,
        LIST_STATUSES,
        LIST_SOURCES,
        FINDING_KINDS,
        SALE_STATUSES,
        ASSESSMENT_SOURCES,
        SUGGESTION_STATUSES,
        DECLINE_REASONS,
        CLOSE_REASONS,
        KEY_ACCOUNT_GRADES,
        KEY_ACCOUNT_SOURCES,
        KEY_ACCOUNT_STATUSES,
        KEY_ACCOUNT_ROLES,
        WARNING_DECISIONS,
        WARNING_REASONS,
        EXIT_STEP_KINDS,
        EXIT_PLAN_STATUSES,
        EXIT_OUTCOMES,
    )
}
