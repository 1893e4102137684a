"""Carestory settings. Every value comes from an environment variable (see .env.example).

CARESTORY_ENV chooses the defaults: "development" (the default: SQLite under var/, DEBUG on,
email to a local SMTP port), "test" (set by the test suite) or "production" (DEBUG off, every
secret required, secure cookies and HSTS).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from carestory.lib.env import ConfigError, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

CARESTORY_ENV = env_str("CARESTORY_ENV", "development")
if CARESTORY_ENV not in {"development", "test", "production"}:
    raise ConfigError("CARESTORY_ENV must be development, test or production")
PRODUCTION = CARESTORY_ENV == "production"

DEBUG = env_bool("DEBUG", CARESTORY_ENV == "development")
if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ConfigError("SECRET_KEY must be at least 50 random characters in production")
else:
    SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key-" + "x" * 40)

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env_str("SITE_NAME", "Carestory")
ADMIN_URL = env_str("ADMIN_URL", "internal-admin/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "carestory.accounts",
    "carestory.audit",
    "carestory.services",
    "carestory.subscriptions",
    "carestory.stories",
    "carestory.automod",
    "carestory.moderation",
    "carestory.responses",
    "carestory.alerts",
    "carestory.workspace",
    "carestory.outbox",
    "carestory.api",
    "carestory.reports",
    "carestory.synthetic",
    "carestory.pagecache",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "carestory.lib.middleware.RequestIdMiddleware",
    # A database outage answers 503 "not saved, send it again", not a bare 500.
    "carestory.lib.errors_middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Public pages for visitors not signed in, from memory while nothing has changed.
    "carestory.pagecache.middleware.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A session made by an emailed link ends if its account is made staff or moderator.
    "carestory.accounts.middleware.LinkSessionGuardMiddleware",
    # A password session owing its second factor (MFA) reaches only that step.
    "carestory.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "carestory.lib.middleware.NoStoreForPrivatePagesMiddleware",
]

ROOT_URLCONF = "carestory.urls"
WSGI_APPLICATION = "carestory.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "carestory.lib.context_processors.site",
            ],
        },
    },
]

# Database: SQLite under var/ by default; DATABASE_URL for PostgreSQL.
_default_sqlite = f"sqlite:///{BASE_DIR / 'var' / 'carestory.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _default_sqlite),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file, not shared-cache memory: memory databases take table locks that ignore
    # the busy timeout, so concurrency tests would measure the test harness, not the product.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:staff_login"
LOGIN_REDIRECT_URL = "subscriptions:dashboard"

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
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions: stored in the database; staff sessions are short.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
if PRODUCTION:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 512 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 400

# Internationalisation: every user-facing string is marked for translation.
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", _("English")), ("cy", _("Welsh"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Email: every message goes through the outbox; the worker sends it over SMTP.
# In development the default writes each email to a file under var/mail/ (no server needed);
# tests and production send over SMTP.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if CARESTORY_ENV == "development"
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", PRODUCTION)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Carestory <no-reply@carestory.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Outbox worker.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 120)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 12)
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 20)
# Finished outbox rows keep their address and content this long (for support), then only
# their status, dates and dedupe key.
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30)

# Story rules.
STORY_MAX_WORDS = env_int("STORY_MAX_WORDS", 1500)
# A character limit too, so one giant "word" cannot make a story of any size.
STORY_MAX_CHARACTERS = env_int("STORY_MAX_CHARACTERS", 20_000)
AUTHOR_LINK_HOURS = env_int("AUTHOR_LINK_HOURS", 24)
CONSENT_VERSION = env_str("CONSENT_VERSION", "2026-11")

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Rendered public pages (carestory/pagecache), per process; a few hundred at ~50 KB each.
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": env_int("PAGE_CACHE_ENTRIES", 400)},
    },
}
# How long a cached public page may live; every committed write to a public table ends them
# all sooner (carestory/pagecache/invalidation.py). 0 turns the cache off (tests, development).
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 60 if PRODUCTION else 0)
# "X-Page-Cache: hit|miss" on answers. Off in production: a first look that is a hit tells a
# visitor that someone viewed that page in the last minute (the speed still hints it).
PAGE_CACHE_HEADER = env_bool("PAGE_CACHE_HEADER", not PRODUCTION)

# Client identity (carestory/lib/client.py): how many reverse proxies of ours append to
# X-Forwarded-For in front of the app. 0 = use the connection's address and ignore the header.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Requests per client (an IPv4 address or IPv6 /64) before 429 Too Many Requests; 0 = no limit.
# Counted in the database, shared by every process (carestory/lib/ratelimit.py).
RATE_LIMIT_API_PER_MINUTE = env_int("RATE_LIMIT_API_PER_MINUTE", 300)
RATE_LIMIT_SUGGEST_PER_MINUTE = env_int("RATE_LIMIT_SUGGEST_PER_MINUTE", 120)
RATE_LIMIT_GUIDANCE_PER_MINUTE = env_int("RATE_LIMIT_GUIDANCE_PER_MINUTE", 60)
RATE_LIMIT_STORIES_PER_HOUR = env_int("RATE_LIMIT_STORIES_PER_HOUR", 20)
RATE_LIMIT_SIGN_IN_LINKS_PER_HOUR = env_int("RATE_LIMIT_SIGN_IN_LINKS_PER_HOUR", 20)
for _name in (
    "TRUSTED_PROXY_COUNT",
    "RATE_LIMIT_API_PER_MINUTE",
    "RATE_LIMIT_SUGGEST_PER_MINUTE",
    "RATE_LIMIT_GUIDANCE_PER_MINUTE",
    "RATE_LIMIT_STORIES_PER_HOUR",
    "RATE_LIMIT_SIGN_IN_LINKS_PER_HOUR",
):
    if globals()[_name] < 0:
        raise ConfigError(f"{_name} must be 0 or more")
del _name

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# JSON lines on stderr, each with the request id, scrubbed of values (addresses, postcodes, link
# tokens, the values PostgreSQL quotes in its errors, debug SQL literals): carestory/lib/logging.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "carestory.lib.logging.RequestIdFilter"},
        "scrub": {"()": "carestory.lib.logging.ScrubFilter"},
    },
    "formatters": {
        "json": {"()": "carestory.lib.logging.JsonFormatter"},
        # runserver's access log keeps Django's readable format; ScrubFilter redacts it.
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["scrub"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own handlers (a plain console in DEBUG, mail_admins) would print exceptions
        # unscrubbed; its records go to the root's JSON handler instead.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}

SILENCED_SYSTEM_CHECKS: list[str] = []
if PRODUCTION and not SECURE_HSTS_PRELOAD:
    # Joining the browsers' HSTS preload list is hard to undo, so it is the operator's choice
    # (SECURE_HSTS_PRELOAD=true); HSTS itself is on, for a year, with subdomains.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
