"""Settings shared by every environment.

Everything that differs between machines comes from the environment through one django-environ
``env``; defaults are the embedded ones (SQLite, local files, an embedded Redis) so a newcomer can
run the site with nothing else installed.
"""

from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "accounts",
    "tapes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tapesite.urls"
WSGI_APPLICATION = "tapesite.wsgi.application"
ASGI_APPLICATION = "tapesite.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# --- Redis and the job queue -------------------------------------------------------------------
# REDIS_URL unset means "use the embedded Redis that scripts/run starts" (see local.py).
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")


def rq_queues(redis_url: str) -> dict[str, dict]:
    # A bounded connect timeout: posting must not hang when the Redis host is unreachable
    # (it records the tape and lets the reconcile step enqueue it later).
    if "socket_connect_timeout" not in redis_url:
        redis_url += ("&" if "?" in redis_url else "?") + "socket_connect_timeout=2"
    return {name: {"URL": redis_url, "DEFAULT_TIMEOUT": 900} for name in ("default", "encode")}


RQ_QUEUES = rq_queues(REDIS_URL)
# Services enqueue in transaction.on_commit themselves, so the queue must not defer a second time.
RQ = {"COMMIT_MODE": "auto"}

# --- Storage -------------------------------------------------------------------------------------
# Two buckets, as in the original design: signed-in users' tapes and guests' tapes. Each bucket is a
# django-storages alias, so a site can point them at any S3-compatible service.
TAPES_STORAGE = env("TAPES_STORAGE", default="local")
TAPES_USER_BUCKET = env("TAPES_USER_BUCKET", default="user-tapesite")
TAPES_GUEST_BUCKET = env("TAPES_GUEST_BUCKET", default="guest-tapesite")
TAPES_BUCKET_STORAGES = {TAPES_USER_BUCKET: "tapes_user", TAPES_GUEST_BUCKET: "tapes_guest"}

STORAGES: dict[str, dict] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if TAPES_STORAGE == "s3":
    _s3_options = {
        "access_key": env("AWS_ACCESS_KEY_ID"),
        "secret_key": env("AWS_SECRET_ACCESS_KEY"),
        "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
        "region_name": env("AWS_S3_REGION_NAME", default="us-east-1"),
        "addressing_style": env("AWS_S3_ADDRESSING_STYLE", default="path"),
        "signature_version": "s3v4",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 3600,
        "file_overwrite": True,
    }
    for _bucket, _alias in TAPES_BUCKET_STORAGES.items():
        STORAGES[_alias] = {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**_s3_options, "bucket_name": _bucket},
        }
elif TAPES_STORAGE == "local":
    for _bucket, _alias in TAPES_BUCKET_STORAGES.items():
        STORAGES[_alias] = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": MEDIA_ROOT / _bucket,
                "base_url": f"{MEDIA_URL}{_bucket}/",
                # Same semantics as S3: a retried upload to a key replaces it.
                "allow_overwrite": True,
            },
        }
else:
    raise ValueError(f"TAPES_STORAGE must be 'local' or 's3', not {TAPES_STORAGE!r}")

# --- Tapes ---------------------------------------------------------------------------------------
TAPES_UPLOAD_MAX_BYTES = env.int("TAPES_UPLOAD_MAX_BYTES", default=100 * 1024 * 1024)
TAPES_UPLOAD_EXPIRES_SECONDS = min(env.int("TAPES_UPLOAD_EXPIRES_SECONDS", default=600), 600)
# An upload slot never posted is deleted with its ZIP after this long (7 days).
TAPES_UPLOAD_ABANDONED_AFTER_SECONDS = env.int(
    "TAPES_UPLOAD_ABANDONED_AFTER_SECONDS", default=7 * 86400
)
# The original plan's alphabet: lower-case consonants weighted twice, no 0/1 (they read as o/l).
TAPES_CODE_ALPHABET = (
    "bcdfghjklmnpqrstvwxyz" * 2 + "BCDFGHJKLMNPQRSTVWXYZ" + "aeiou" * 2 + "AEIOU" + "23456789"
)
TAPES_CODE_MIN_LENGTH = 3
# Random tries per length before a post moves to a longer code: the space counts as crowded once
# this many picks in a row were taken.
TAPES_CODE_ATTEMPTS_PER_LENGTH = 6
TAPES_CODE_MAX_LENGTH = 10
# How long a tape may sit queued/processing with no live job before the reconcile step requeues it.
TAPES_STUCK_AFTER_SECONDS = env.int("TAPES_STUCK_AFTER_SECONDS", default=900)
TAPES_WORKER_HEARTBEAT_GRACE_SECONDS = env.int("TAPES_WORKER_HEARTBEAT_GRACE_SECONDS", default=120)
TAPES_RECONCILE_INTERVAL_SECONDS = env.int("TAPES_RECONCILE_INTERVAL_SECONDS", default=60)
TAPES_MAX_ATTEMPTS = env.int("TAPES_MAX_ATTEMPTS", default=5)
# Back-off between transient encode failures (storage down, worker killed), in seconds.
TAPES_RETRY_INTERVALS = [15, 60, 180, 600]
# Overrides of tapes.archive.ArchiveLimits (e.g. {"max_duration_ms": 60000}) and of
# tapes.encoder.EncodeSettings; the defaults there are the documented ones.
TAPES_ARCHIVE_LIMITS: dict[str, int | float] = {}
TAPES_ENCODER: dict[str, Any] = {}
TAPES_API_MAX_BODY_BYTES = 64 * 1024

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": ["tapesite.api.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "tapesite.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "tape_upload": env("TAPES_THROTTLE_UPLOAD", default="60/min"),
        "tape_post": env("TAPES_THROTTLE_POST", default="60/min"),
        "tape_read": env("TAPES_THROTTLE_READ", default="600/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tapesite API",
    "DESCRIPTION": "Record short tapes in the browser, post them, share them by a short code.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Throttle counters must be shared by every web node, so production points this at Redis.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
