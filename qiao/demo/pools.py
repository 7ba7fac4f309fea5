"""Fixed reference data for the synthetic bank: places, names, occupations, product catalogue.

Everything here is static so that generation stays deterministic and fast: the random choices are
made with numpy over these pools. Person names come from Faker's zh_CN provider data (surnames with
their frequency weights, given-name characters by gender).
"""

from __future__ import annotations

from dataclasses import dataclass

from faker.providers.person.zh_CN import Provider as _FakerPerson

# ---------------------------------------------------------------------------------------------
# The bank sits in 九江 (Jiujiang, Jiangxi) — the place of the data-interface example customer.

PROVINCE = "江西省"
CITY = "九江市"


@dataclass(frozen=True)
class District:
    name: str
    postal: str
    #: resident-ID area codes in order of preference; the first one python-stdnum accepts for the
    #: birth year is used (codes changed in 1983 when 九江地区 became 九江市, and later again).
    ric_codes: tuple[str, ...]
    streets: tuple[str, ...]


DISTRICTS: tuple[District, ...] = (
    District(
        "浔阳区",
        "332000",
        ("360403", "360400"),
        (
            "浔阳路",
            "庐山路",
            "大中路",
            "湓浦路",
            "西园路",
            "甘棠北路",
            "滨江路",
            "花园路",
            "九华门路",
            "人民路",
        ),
    ),
    District(
        "濂溪区",
        "332005",
        ("360402", "360400"),
        (
            "长虹大道",
            "十里大道",
            "塔岭南路",
            "前进东路",
            "濂溪大道",
            "九龙街",
            "南湖路",
            "信华路",
            "庐峰路",
        ),
    ),
    District(
        "柴桑区",
        "332100",
        ("360404", "360421", "362621"),
        ("柴桑大道", "沙河街", "东风路", "迎宾大道"),
    ),
    District(
        "德安县",
        "330400",
        ("360426", "362626"),
        ("蒲亭北路", "义峰街", "宝塔路", "建设路", "城东路"),
    ),
    District("永修县", "330300", ("360425", "362625"), ("建昌路", "云居路", "燕山路", "滨河路")),
    District(
        "瑞昌市",
        "332200",
        ("360481", "360422", "362622"),
        ("湓城大道", "赛湖路", "桂林路", "黄金大道"),
    ),
    District("都昌县", "332600", ("360428", "362628"), ("东风路", "南山路", "湖滨路")),
    District("湖口县", "332500", ("360429", "362629"), ("石钟山路", "双钟路", "三里街")),
    District("彭泽县", "332700", ("360430", "362630"), ("龙城大道", "迎宾路", "陶公路")),
    District("武宁县", "332300", ("360423", "362623"), ("沙田路", "西海大道", "新宁大道")),
    District("修水县", "332400", ("360424", "362624"), ("良塘大道", "宁州路", "山谷路")),
    District(
        "共青城市", "332020", ("360482", "360425", "362625"), ("共青大道", "青年大道", "富华大道")
    ),
    District("庐山市", "332800", ("360483", "360427", "362627"), ("南康路", "紫阳路", "秀峰大道")),
)

#: Customers living outside 九江: (province, city, district, postal code).
ELSEWHERE: tuple[tuple[str, str, str, str], ...] = (
    ("江西省", "南昌市", "东湖区", "330006"),
    ("江西省", "南昌市", "红谷滩区", "330038"),
    ("江西省", "景德镇市", "珠山区", "333000"),
    ("湖北省", "武汉市", "洪山区", "430070"),
    ("湖北省", "黄冈市", "黄梅县", "435500"),
    ("安徽省", "安庆市", "宿松县", "246500"),
    ("广东省", "深圳市", "福田区", "518000"),
    ("上海市", "上海市", "浦东新区", "200120"),
    ("浙江省", "杭州市", "西湖区", "310013"),
)
ELSEWHERE_STREETS: tuple[str, ...] = (
    "中山路",
    "解放路",
    "建设大道",
    "人民路",
    "长江路",
    "新华路",
    "青年路",
)

#: Area codes for customers born outside 九江 (checked per birth year like the local ones).
ELSEWHERE_RIC: tuple[str, ...] = (
    "360121",
    "360100",
    "360200",
    "420100",
    "421127",
    "340826",
    "440300",
    "310100",
    "330100",
    "110105",
    "110108",
)
FALLBACK_RIC = "360400"  # 九江市 itself: valid for every birth year in stdnum's table

COMPOUNDS: tuple[str, ...] = (
    "阳光花园",
    "锦绣华庭",
    "翡翠湾",
    "学府花园",
    "滨江华府",
    "八里湖一号",
    "东方名城",
    "御景园",
    "金色港湾",
    "书香门第",
    "世纪新城",
    "湖滨小区",
    "庐山花园",
    "幸福家园",
    "香榭丽舍",
    "红星小区",
)

#: Home-outlet structure: (unit_code, name, sub-branch, district index, street, customer weight).
OUTLETS: tuple[tuple[str, str, str, int, str, float], ...] = (
    ("O0101", "解放路网点", "S01", 0, "解放路12号", 0.22),
    ("O0102", "浔阳路网点", "S01", 0, "浔阳路88号", 0.17),
    ("O0103", "十里网点", "S01", 1, "十里大道306号", 0.15),
    ("O0201", "长虹路网点", "S02", 1, "长虹大道51号", 0.19),
    ("O0202", "德安网点", "S02", 3, "蒲亭北路20号", 0.12),
    ("O0203", "八里湖网点", "S02", 0, "九龙街18号", 0.15),
)
SUB_BRANCHES: tuple[tuple[str, str, str], ...] = (
    ("S01", "城东支行", "浔阳区庐山路100号"),
    ("S02", "城西支行", "濂溪区长虹大道200号"),
)
BRANCH = ("B01", "九江分行", "浔阳区浔阳东路6号")
HEAD_OFFICE = ("HO", "总行", "南昌市红谷滩区赣江中大道1号")

# ---------------------------------------------------------------------------------------------
# Names

SURNAMES: tuple[str, ...] = tuple(_FakerPerson.last_names.keys())
SURNAME_WEIGHTS: tuple[float, ...] = tuple(float(w) for w in _FakerPerson.last_names.values())
GIVEN_MALE: tuple[str, ...] = tuple(_FakerPerson.first_names_male)
GIVEN_FEMALE: tuple[str, ...] = tuple(_FakerPerson.first_names_female)
# First characters of two-character given names: with Faker's single characters they give
# plausible names (建华, 晓燕, 志强) and far fewer duplicates than Faker's 131 names alone.
GIVEN_LEAD_MALE: tuple[str, ...] = (
    "建",
    "志",
    "国",
    "海",
    "文",
    "德",
    "永",
    "俊",
    "子",
    "明",
    "家",
    "振",
    "立",
    "宏",
    "昌",
    "春",
    "正",
    "光",
    "天",
    "浩",
    "金",
    "学",
    "少",
    "长",
    "世",
    "思",
    "一",
    "泽",
)
GIVEN_LEAD_FEMALE: tuple[str, ...] = (
    "晓",
    "丽",
    "美",
    "秀",
    "春",
    "玉",
    "雅",
    "佳",
    "欣",
    "梦",
    "雨",
    "思",
    "彩",
    "慧",
    "海",
    "素",
    "金",
    "月",
    "静",
    "婉",
    "诗",
    "紫",
    "一",
    "可",
)

EMAIL_DOMAINS: tuple[str, ...] = (
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "139.com",
    "foxmail.com",
)

# Prefixes whose every 8-digit continuation is a valid CN mobile number per phonenumbers' metadata.
MOBILE_PREFIXES: tuple[str, ...] = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)

# ---------------------------------------------------------------------------------------------
# Profiles (free text as the core system would hold it)

OCCUPATIONS_WORKING: tuple[str, ...] = (
    "企业职员",
    "教师",
    "医生",
    "护士",
    "公务员",
    "工程师",
    "个体工商户",
    "销售",
    "会计",
    "司机",
    "农民",
    "工人",
    "自由职业",
    "公司管理人员",
    "律师",
    "厨师",
    "快递员",
    "军人",
    "事业单位职员",
)
OCCUPATION_WEIGHTS: tuple[float, ...] = (
    18,
    6,
    3,
    3,
    5,
    5,
    9,
    6,
    3,
    4,
    10,
    9,
    4,
    4,
    1,
    2,
    2,
    1,
    5,
)
#: occupations paid through the public purse (財政代发)
FISCAL_OCCUPATIONS = frozenset({"教师", "公务员", "事业单位职员", "军人"})
INDUSTRIES: tuple[str, ...] = (
    "制造业",
    "批发和零售业",
    "建筑业",
    "交通运输业",
    "住宿和餐饮业",
    "信息技术",
    "农林牧渔业",
    "房地产业",
    "教育",
    "卫生和社会工作",
    "金融业",
    "租赁和商务服务业",
    "居民服务业",
    "公共管理",
)
INDUSTRY_WEIGHTS: tuple[float, ...] = (20, 18, 10, 7, 8, 4, 8, 4, 5, 4, 1, 5, 4, 2)
#: industry word used inside company names, aligned with INDUSTRIES
INDUSTRY_WORDS: tuple[tuple[str, ...], ...] = (
    ("建材", "机械", "纺织", "电子", "化工", "服装", "新材料", "五金"),
    ("贸易", "商贸", "百货", "医药连锁", "粮油"),
    ("建筑工程", "装饰工程", "路桥工程"),
    ("物流", "运输", "航运"),
    ("餐饮管理", "酒店管理"),
    ("信息技术", "软件", "网络科技"),
    ("农业科技", "茶业", "水产养殖", "生态农业"),
    ("房地产开发", "物业管理"),
    ("教育咨询", "培训"),
    ("医疗器械", "健康管理"),
    ("投资", "融资担保"),
    ("商务咨询", "广告传媒", "设备租赁"),
    ("家政服务", "美容美发"),
    ("城市建设投资",),
)
#: main business text per industry (aligned with INDUSTRIES), {w} = the word in the company name
MAIN_BUSINESS: tuple[str, ...] = (
    "{w}产品的研发、生产与销售",
    "{w}批发与零售",
    "{w}施工与安装",
    "{w}服务及仓储",
    "{w}服务",
    "{w}开发与技术服务",
    "{w}种养殖与销售",
    "{w}及相关服务",
    "{w}服务",
    "{w}销售与服务",
    "{w}业务",
    "{w}服务",
    "{w}服务",
    "{w}项目投资建设",
)
EDUCATIONS: tuple[str, ...] = ("小学", "初中", "高中", "中专", "大专", "本科", "硕士", "博士")
EDUCATION_WEIGHTS: tuple[float, ...] = (8, 22, 20, 10, 16, 19, 4, 1)
SCHOOLS: tuple[str, ...] = (
    "九江学院",
    "九江职业技术学院",
    "南昌大学",
    "江西财经大学",
    "江西师范大学",
    "九江一中",
    "同文中学",
    "武汉大学",
    "华中科技大学",
    "九江市第三中学",
)
INVESTMENT_PREFS: tuple[str, ...] = ("保守型", "稳健型", "平衡型", "成长型", "进取型")
PRODUCT_PREFS: tuple[str, ...] = (
    "定期存款",
    "国债",
    "保本理财",
    "基金定投",
    "货币基金",
    "贵金属",
    "保险",
    "大额存单",
    "股票型基金",
)
MARKETING_PREFS: tuple[str, ...] = ("短信", "电话", "微信", "面谈", "邮件", "不接受营销")
HOBBIES: tuple[str, ...] = (
    "钓鱼",
    "旅游",
    "书法",
    "广场舞",
    "摄影",
    "太极拳",
    "读书",
    "跑步",
    "羽毛球",
    "登山",
    "象棋",
    "茶艺",
    "烹饪",
    "园艺",
    "乒乓球",
    "游泳",
)
FAMILY_NOTES: tuple[str, ...] = (
    "育有一子，就读于九江一中",
    "育有一女，在外地工作",
    "与父母同住",
    "子女在深圳工作",
    "二孩家庭",
    "配偶在本行开户",
    "孙辈在读小学",
    "独居，子女在外地",
    "家庭经营茶叶生意",
    "计划为子女购房",
    "子女准备出国留学",
    "父母年迈需照顾",
)
TAX_RECORDS_P: tuple[str, ...] = ("个税正常申报", "个税年度汇算已完成")
TAX_RECORDS_C: tuple[str, ...] = ("纳税信用A级", "纳税信用B级", "纳税信用M级", "纳税信用C级")

EMPLOYERS_EXTERNAL: tuple[str, ...] = (
    "九江市第一人民医院",
    "九江学院",
    "九江石化公司",
    "九江市公交集团有限公司",
    "江西九江供电公司",
    "九江市自来水有限公司",
    "九江市中医医院",
    "中国邮政集团九江分公司",
    "九江港务集团有限公司",
    "九江联盛实业集团有限公司",
)
FISCAL_PAYERS: tuple[str, ...] = (
    "九江市财政局",
    "九江市浔阳区财政局",
    "九江市濂溪区财政局",
    "德安县财政局",
)
SOCIAL_SECURITY_PAYERS: tuple[str, ...] = ("九江市社会保险事业管理局", "九江市医疗保障局")

#: two-character company brand names are made of these characters
BRAND_CHARS: tuple[str, ...] = (
    "鑫",
    "华",
    "泰",
    "恒",
    "盛",
    "达",
    "昌",
    "隆",
    "兴",
    "源",
    "瑞",
    "丰",
    "宏",
    "福",
    "嘉",
    "润",
    "德",
    "信",
    "安",
    "永",
    "利",
    "通",
    "顺",
    "旺",
    "金",
    "富",
    "宝",
    "海",
    "天",
    "宇",
    "新",
    "博",
    "众",
    "创",
    "益",
    "辉",
    "腾",
    "和",
    "祥",
    "康",
    "远",
    "胜",
    "鸿",
    "豪",
    "诚",
    "晟",
    "凯",
    "佳",
    "美",
    "中",
    "汇",
    "银",
    "星",
    "光",
    "明",
    "庐",
    "浔",
    "赣",
    "江",
    "湖",
)
COMPANY_PLACES: tuple[str, ...] = (
    "九江",
    "九江浔阳",
    "九江濂溪",
    "九江柴桑",
    "九江德安",
    "九江永修",
    "瑞昌",
    "九江都昌",
    "九江湖口",
    "九江彭泽",
    "九江武宁",
    "九江修水",
    "共青城",
    "庐山",
)
COMPANY_SUFFIXES: tuple[str, ...] = ("有限公司", "有限责任公司", "股份有限公司")
#: place word of a company registered in each district (aligned with DISTRICTS)
DISTRICT_COMPANY_PLACE: tuple[str, ...] = (
    "九江浔阳",
    "九江濂溪",
    "九江柴桑",
    "九江德安",
    "九江永修",
    "瑞昌",
    "九江都昌",
    "九江湖口",
    "九江彭泽",
    "九江武宁",
    "九江修水",
    "共青城",
    "庐山",
)


# ---------------------------------------------------------------------------------------------
# Product catalogue


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    category: str  # DEMAND TIME WEALTH FUND BOND INSURANCE PRECIOUS_METAL LOAN CARD SETTLEMENT
    risk: str = ""
    term_days: int = 0
    rate: str = ""  # annual %, as text so the catalogue stays exact
    min_amount: str = ""
    motives: str = ""
    corporate: bool = False
    #: closed-end issue: (issue, maturity) offsets in days relative to as_of
    issue_window: tuple[int, int] | None = None
    # -- the shelf (issue 14): the issuer's rating where it differs from the bank's (``risk``; the
    # higher applies), the issuer, a private product, where it stands on the shelf, and the rate
    # of a year ago where it changed since (the demo's rate history)
    issuer_risk: str = ""
    issuer: str = ""
    private: bool = False
    sale_status: str = ""
    earlier_rate: str = ""


ACC = "ACCUMULATE"
APP = "APPRECIATE"
LOAN = "LOAN"

PRODUCTS: tuple[Product, ...] = (
    Product("DEP-DEMAND", "个人活期储蓄", "DEMAND", rate="0.2000", min_amount="0.00"),
    Product(
        "DEP-DEMAND-CORP",
        "单位活期存款",
        "DEMAND",
        rate="0.2500",
        min_amount="0.00",
        corporate=True,
    ),
    Product(
        "TD-3M",
        "整存整取三个月",
        "TIME",
        term_days=91,
        rate="1.0500",
        min_amount="50.00",
        motives=ACC,
    ),
    Product(
        "TD-6M",
        "整存整取六个月",
        "TIME",
        term_days=182,
        rate="1.2500",
        min_amount="50.00",
        motives=ACC,
    ),
    Product(
        "TD-1Y",
        "整存整取一年",
        "TIME",
        term_days=365,
        rate="1.4500",
        min_amount="50.00",
        motives=ACC,
        earlier_rate="1.6500",
    ),
    Product(
        "TD-2Y",
        "整存整取二年",
        "TIME",
        term_days=730,
        rate="1.6500",
        min_amount="50.00",
        motives=ACC,
    ),
    Product(
        "TD-3Y",
        "整存整取三年",
        "TIME",
        term_days=1095,
        rate="1.9500",
        min_amount="50.00",
        motives=ACC,
    ),
    Product(
        "TD-5Y",
        "整存整取五年",
        "TIME",
        term_days=1826,
        rate="2.0000",
        min_amount="50.00",
        motives=ACC,
    ),
    Product(
        "CD-3Y",
        "大额存单三年期",
        "TIME",
        term_days=1095,
        rate="2.3500",
        min_amount="200000.00",
        motives=ACC,
    ),
    Product(
        "TD-CORP-1Y",
        "单位定期存款一年",
        "TIME",
        term_days=365,
        rate="1.6000",
        min_amount="10000.00",
        motives=ACC,
        corporate=True,
    ),
    Product(
        "WM-R1-CASH",
        "天天利现金管理理财",
        "WEALTH",
        risk="R1",
        rate="1.8500",
        min_amount="1.00",
        motives=APP,
    ),
    Product(
        "WM-R2-90D",
        "稳盈90天周期理财",
        "WEALTH",
        risk="R2",
        term_days=90,
        rate="2.4000",
        min_amount="10000.00",
        motives=APP,
        issuer="桥银理财有限责任公司",
        earlier_rate="2.2000",
    ),
    Product(
        "WM-R2-180D",
        "稳盈180天周期理财",
        "WEALTH",
        risk="R2",
        term_days=180,
        rate="2.6000",
        min_amount="10000.00",
        motives=APP,
    ),
    Product(
        "WM-R3-1Y",
        "增利一年期理财",
        "WEALTH",
        risk="R3",
        term_days=365,
        rate="3.1000",
        min_amount="10000.00",
        motives=APP,
        issuer_risk="R2",
        issuer="桥银理财有限责任公司",
        earlier_rate="3.3000",
    ),
    # Closed-end issues placed relative to as_of: one matures within the week (a maturity alert),
    # one in two months, one matured during the history (closed positions with realised gains).
    Product(
        "WM-R3-CE01",
        "鑫享封闭式理财第1期",
        "WEALTH",
        risk="R3",
        term_days=365,
        rate="3.3000",
        min_amount="10000.00",
        motives=APP,
        issue_window=(-360, 5),
        sale_status="CLOSED",
    ),
    Product(
        "WM-R4-CE02",
        "权益增强封闭式理财第2期",
        "WEALTH",
        risk="R4",
        term_days=730,
        rate="4.5000",
        min_amount="50000.00",
        motives=APP,
        issue_window=(-670, 60),
        sale_status="CLOSING",
        issuer_risk="R3",
        issuer="桥银理财有限责任公司",
    ),
    Product(
        "WM-R2-CE03",
        "安享封闭式理财第3期",
        "WEALTH",
        risk="R2",
        term_days=365,
        rate="2.9000",
        min_amount="10000.00",
        motives=APP,
        issue_window=(-600, -235),
        sale_status="CLOSED",
    ),
    Product(
        "WM-CORP-R1",
        "单位现金管理理财",
        "WEALTH",
        risk="R1",
        rate="1.9000",
        min_amount="100000.00",
        motives=APP,
        corporate=True,
    ),
    Product("FUND-BOND", "稳健债券基金A", "FUND", risk="R2", min_amount="10.00", motives=APP),
    Product("FUND-MIX", "灵活配置混合基金", "FUND", risk="R3", min_amount="10.00", motives=APP),
    Product(
        "FUND-IDX300",
        "沪深300指数基金",
        "FUND",
        risk="R4",
        min_amount="10.00",
        motives=f"{ACC}|{APP}",
    ),
    Product("FUND-EQ", "成长精选股票基金", "FUND", risk="R4", min_amount="10.00", motives=APP),
    Product("FUND-QDII", "全球科技QDII基金", "FUND", risk="R5", min_amount="100.00", motives=APP),
    Product(
        "BOND-SAV3Y",
        "储蓄国债(凭证式)三年期",
        "BOND",
        risk="R1",
        term_days=1095,
        rate="2.3800",
        min_amount="100.00",
        motives=ACC,
    ),
    Product(
        "BOND-SAV5Y",
        "储蓄国债(电子式)五年期",
        "BOND",
        risk="R1",
        term_days=1826,
        rate="2.5000",
        min_amount="100.00",
        motives=ACC,
    ),
    Product(
        "INS-ANNUITY",
        "福享年金保险",
        "INSURANCE",
        risk="R2",
        rate="2.5000",
        min_amount="10000.00",
        motives=ACC,
    ),
    Product(
        "INS-EDU",
        "少儿教育金保险",
        "INSURANCE",
        risk="R1",
        rate="2.0000",
        min_amount="5000.00",
        motives=ACC,
    ),
    Product(
        "GOLD-ACC",
        "积存金",
        "PRECIOUS_METAL",
        risk="R3",
        min_amount="500.00",
        motives=f"{ACC}|{APP}",
    ),
    Product("LOAN-CONS", "个人消费贷款", "LOAN", term_days=1095, rate="3.6500", motives=LOAN),
    Product("LOAN-MORT", "个人住房贷款", "LOAN", term_days=7300, rate="3.1000", motives=LOAN),
    Product("LOAN-BIZ", "个人经营贷款", "LOAN", term_days=1095, rate="3.8500", motives=LOAN),
    Product(
        "LOAN-CORP-WC",
        "流动资金贷款",
        "LOAN",
        term_days=365,
        rate="3.4500",
        motives=LOAN,
        corporate=True,
    ),
    Product("CARD-CREDIT", "信用卡", "CARD", rate="18.2500"),
    Product("SET-CASHMGMT", "现金管理服务", "SETTLEMENT", motives=LOAN, corporate=True),
    Product("SET-PAYROLL", "代发工资服务", "SETTLEMENT", motives=LOAN, corporate=True),
    Product("SET-COLLECT", "代收代付服务", "SETTLEMENT", motives=LOAN, corporate=True),
)
PRODUCT_INDEX: dict[str, int] = {p.code: i for i, p in enumerate(PRODUCTS)}

#: On the shelf but held by nobody yet (not in the simulation): a private product for qualified
#: investors and a new issue (issue 14: every rule of the shelf visible in the demo).
SHELF_ONLY: tuple[Product, ...] = (
    Product(
        "WM-PRIV-R4",
        "鑫睿私募精选理财",
        "WEALTH",
        risk="R4",
        term_days=365,
        rate="4.8000",
        min_amount="1000000.00",
        motives=APP,
        issuer="桥银理财有限责任公司",
        private=True,
    ),
    Product(
        "WM-R2-NEW",
        "稳盈新发270天理财",
        "WEALTH",
        risk="R2",
        issuer_risk="R1",
        term_days=270,
        rate="2.7000",
        min_amount="10000.00",
        motives=APP,
        issuer="桥银理财有限责任公司",
        sale_status="NEW_ISSUE",
    ),
)
