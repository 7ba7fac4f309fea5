"""One env-driven settings module (after healthchecks' ``hc/settings.py``).

Embedded by default: a SQLite file and the Parquet lake under ``QIAO_HOME`` (default ``./var``).
Production sets ``QIAO_DATABASE_URL`` (PostgreSQL), ``QIAO_SECRET_KEY`` (or ``QIAO_SECRET_KEY_FILE``),
``QIAO_ALLOWED_HOSTS`` and ``QIAO_PRODUCTION=1``; nothing else changes. See docs/configuration.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from qiao.core import lake as _lake


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_secret(name: str, default: str = "") -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/K8s secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


BASE_DIR = Path(__file__).resolve().parent
QIAO_HOME = Path(env_str("QIAO_HOME", "var")).resolve()
LAKE_DIR = QIAO_HOME / "lake"
PRODUCTION = env_bool("QIAO_PRODUCTION")
DEBUG = env_bool("QIAO_DEBUG", default=False)


def _local_secret_key() -> str:
    # An embedded install keeps its own random key beside its data, so sessions survive restarts
    # without anybody having to invent a secret.
    key_file = QIAO_HOME / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    QIAO_HOME.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    return key


SECRET_KEY = env_secret("QIAO_SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = [
    h for h in env_str("QIAO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("QIAO_CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "qiao.core",
    "qiao.org",
    "qiao.customers",
    "qiao.products",
    "qiao.ingest",
    "qiao.suitability",
    "qiao.credit",
    "qiao.audit",
    "qiao.scoring",
    "qiao.engagement",
    "qiao.campaigns",
    "qiao.risk",
    "qiao.surveys",
    "qiao.performance",
    "qiao.reports",
    "qiao.web",
    "qiao.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "qiao.web.middleware.StaticGZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "qiao.web.middleware.SessionRenewalMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "qiao.web.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "qiao.urls"
WSGI_APPLICATION = "qiao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "qiao.web.context.qiao_context",
            ],
        },
    }
]

_database_url = env_str("QIAO_DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    QIAO_HOME.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(QIAO_HOME / "qiao.sqlite3"),
            # WAL lets the web server read while a load or the nightly scoring writes.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "org.Staff"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with the unit and the permissions in fewer queries (qiao.org.backends).
    "qiao.org.backends.StaffBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out after repeated failures (django-axes): 5 failures in 15 minutes per user and address.
AXES_FAILURE_LIMIT = env_int("QIAO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
# The API answers a lock-out in its own JSON error shape; the log-in page shows the template.
AXES_LOCKOUT_CALLABLE = "qiao.web.lockout.lockout_response"
AXES_VERBOSE = False

# Sessions end after 15 minutes idle and never outlive the browser. The idle expiry is renewed at
# most once a minute (qiao.web.middleware.SessionRenewalMiddleware), not written on every request:
# a session ends 14–15 minutes after the last request, never later.
SESSION_COOKIE_AGE = env_int("QIAO_SESSION_IDLE_SECONDS", 15 * 60)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# The TLS-terminating proxy in front of ``qiao serve``: its address as waitress sees it (one
# address, or ``*`` for any peer — only when nothing but the proxy can reach the port). Waitress
# takes the proxy headers named in QIAO_TRUSTED_PROXY_HEADERS from that peer only and drops them
# from everybody else, so a client cannot claim HTTPS or another address by sending the header.
TRUSTED_PROXY = env_str("QIAO_TRUSTED_PROXY").strip()
TRUSTED_PROXY_HEADERS = [
    h.strip().lower()
    for h in env_str("QIAO_TRUSTED_PROXY_HEADERS", "x-forwarded-proto,x-forwarded-for").split(",")
    if h.strip()
]

if PRODUCTION:
    DEBUG = False
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("QIAO_SSL_REDIRECT", True)
    # Sent on every HTTPS response (Django sends HSTS only on requests it knows are secure:
    # behind a proxy, that needs QIAO_TRUSTED_PROXY).
    SECURE_HSTS_SECONDS = env_int("QIAO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("QIAO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("QIAO_HSTS_PRELOAD", True)
    if TRUSTED_PROXY:
        # Waitress has already dropped this header unless the trusted proxy sent it.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp 4): everything is served by Qiao itself, no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Inline style attributes (a progress bar's width).
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Thousands separators in every language (Django's Chinese locales group nothing).
FORMAT_MODULE_PATH = ["qiao.formats"]
USE_I18N = True
# The bank's local time zone: pages, the work list's days, ingest's offset-less timestamps and
# (passed by `qiao score`) the scoring's business day.
TIME_ZONE = env_str("QIAO_TIME_ZONE", _lake.TIME_ZONE)
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = QIAO_HOME / "static"
# Assets are served from the installed packages (finders); the folder only keeps WhiteNoise quiet.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if PRODUCTION:
    # `qiao serve` collects the assets first: names with a content hash, cached by browsers for a
    # year, and gzip / brotli copies made once (docs/operations.md, decision 0008).
    STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "qiao.web.staticfinders.PackagedAssetsFinder",
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "qiao.core.logging.RedactSecretsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env_str("QIAO_LOG_LEVEL", "WARNING")},
}

# Business settings (docs/configuration.md).
QIAO = {
    # An individual customer at or above this AUM (yuan) must have an owner (seed 000: 10万).
    "QUALITY_AUM_THRESHOLD": env_int("QIAO_QUALITY_AUM_THRESHOLD", 100_000),
    "REVEAL_RATE_PER_HOUR": env_int("QIAO_REVEAL_RATE_PER_HOUR", 20),
    # The typeahead's requests within this many seconds, each extending (or trimming) the last
    # query, are one search in the audit trail (decision 0008).
    "SEARCH_SETTLE_SECONDS": env_int("QIAO_SEARCH_SETTLE_SECONDS", 30),
    "EXPORT_LIMIT": env_int("QIAO_EXPORT_LIMIT", 200),
    # A report workbook of this many rows or more is built in the background (docs/reports.md).
    "REPORT_BACKGROUND_ROWS": env_int("QIAO_REPORT_BACKGROUND_ROWS", 20_000),
    # Churn (docs/reports.md): active at this month-average AUM (yuan); lost after this many
    # months below it.
    "CHURN_AUM_THRESHOLD": env_int("QIAO_CHURN_AUM_THRESHOLD", 100),
    "CHURN_DORMANT_MONTHS": env_int("QIAO_CHURN_DORMANT_MONTHS", 3),
    # Plain exports (maker-checker, docs/privacy.md): most customers, requests per person per
    # hour, hours an approval stays downloadable.
    "PLAIN_EXPORT_MAX_ROWS": env_int("QIAO_PLAIN_EXPORT_MAX_ROWS", 5000),
    "PLAIN_EXPORT_RATE_PER_HOUR": env_int("QIAO_PLAIN_EXPORT_RATE_PER_HOUR", 3),
    "PLAIN_EXPORT_HOURS": env_int("QIAO_PLAIN_EXPORT_HOURS", 24),
    # A large movement (yuan): the work list's and, passed by `qiao score`, the scoring's.
    "LARGE_AMOUNT": env_int("QIAO_LARGE_AMOUNT", _lake.LARGE_AMOUNT),
    "PAGE_SIZE": 25,
    # The bank's tier-one and net capital (yuan) for the large-exposure limits; 0 keeps the
    # figures of qiao/credit/config/limits.toml (docs/keyaccounts.md).
    "TIER_ONE_CAPITAL": env_int("QIAO_TIER_ONE_CAPITAL", 0),
    "NET_CAPITAL": env_int("QIAO_NET_CAPITAL", 0),
    # The nightly scoring's customers per partition (0: the whole bank at once, as before;
    # docs/operations.md, decision 0010).
    "SCORE_PARTITION_SIZE": env_int("QIAO_SCORE_PARTITION_SIZE", 100_000),
    # DuckDB: worker processes scoring partitions at once (0: scoring.toml's [partitions]
    # workers; 1: one after another in the scoring process).
    "SCORE_WORKERS": env_int("QIAO_SCORE_WORKERS", 0),
}
# The Spark master of `qiao score --engine spark`, and the scoring partitions' working folder (on
# a cluster: storage every executor reads and writes; empty: a temporary folder).
SCORE_SPARK_MASTER = env_str("QIAO_SPARK_MASTER", "local[2]") or "local[2]"
SCORE_WORK_DIR = env_str("QIAO_SCORE_WORK_DIR", "")
# DuckDB's memory limit in `qiao score` (it spills to the working folder beyond it; the measured
# peaks in docs/operations.md are with 1GB; empty: DuckDB's own, 80 % of the machine's memory).
SCORE_DUCKDB_MEMORY = env_str("QIAO_SCORE_DUCKDB_MEMORY", "1GB")
# The campaign rules file (caps, quiet hours, batch sizes); default qiao/campaigns/config.
CAMPAIGN_CONFIG = env_str("QIAO_CAMPAIGN_CONFIG")

# Background work (campaign sends, docs/campaigns.md): Django's Tasks framework through the
# django-tasks backport, queued in the operational database (django-tasks-db; no broker on SQLite
# or PostgreSQL) and run by `qiao worker` (which `qiao serve` starts beside the web server).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# E-mail: SMTP when QIAO_EMAIL_HOST is set; otherwise each message is written to a file under
# QIAO_HOME/outbox/email (the embedded demo has no mail server).
EMAIL_HOST = env_str("QIAO_EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("QIAO_EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("QIAO_EMAIL_USER")
    EMAIL_HOST_PASSWORD = env_secret("QIAO_EMAIL_PASSWORD")
    EMAIL_USE_TLS = env_bool("QIAO_EMAIL_TLS")
    EMAIL_TIMEOUT = env_int("QIAO_EMAIL_TIMEOUT", 30)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(QIAO_HOME / "outbox" / "email")
DEFAULT_FROM_EMAIL = env_str("QIAO_EMAIL_FROM", "qiao@localhost")
#: Where outbound SMS and WeChat batch files are written for the bank's message platform.
OUTBOX_DIR = Path(env_str("QIAO_OUTBOX_DIR", str(QIAO_HOME / "outbox")))
