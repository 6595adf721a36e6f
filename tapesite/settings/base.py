"""Settings shared by every environment.

Everything that differs between machines comes from the environment through one django-environ
``env``; defaults are the embedded ones (SQLite, local files, an embedded Redis) so a newcomer can
run the site with nothing else installed.
"""

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import environ
from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def local_secret_key(path: Path) -> str:
    """This checkout's own secret key: made at random on first use and kept in ``path``
    (readable by its owner only), so it survives restarts without being in git."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
        try:
            # link() refuses an existing name: of two processes starting at once (site and
            # worker), one key wins and both read it below.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


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
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "accounts",
    "tapes",
    "sites",
    "audit",
    "ops",
    "web",
    "federation",
    "bluesky",
]

MIDDLEWARE = [
    # First: probes are answered before host checks, sessions and auth (see ops.middleware).
    "ops.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # CSP and Permissions-Policy on every response, static files included (tapesite.headers).
    "tapesite.headers.SecurityHeadersMiddleware",
    # Static files before anything else touches the request (whitenoise's documented place).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CORS for other sites' pages on /api/tapes* (sites.cors): before sessions, CSRF and auth,
    # so a preflight or a refused origin touches none of them.
    "sites.cors.ApiCorsMiddleware",
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

# Every network client has a connect and a read bound, so a dead peer turns into a quick,
# handled error instead of a request (or a worker) hanging on a socket.
NETWORK_CONNECT_TIMEOUT_SECONDS = env.float("TAPES_CONNECT_TIMEOUT_SECONDS", default=3.0)
NETWORK_READ_TIMEOUT_SECONDS = env.float("TAPES_READ_TIMEOUT_SECONDS", default=30.0)


def database(url: str) -> dict[str, Any]:
    config: dict[str, Any] = env.db_url_config(url)
    config["ATOMIC_REQUESTS"] = False
    config["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=0)
    if "postgresql" in config["ENGINE"]:
        read_ms = int(NETWORK_READ_TIMEOUT_SECONDS * 1000)
        config.setdefault("OPTIONS", {}).update(
            {
                "connect_timeout": max(int(NETWORK_CONNECT_TIMEOUT_SECONDS), 1),
                # libpq has no read timeout: the server ends a statement that runs too long, and
                # the kernel gives up on a peer that stops acknowledging.
                "options": f"-c statement_timeout={read_ms}",
                "tcp_user_timeout": read_ms,
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            }
        )
    return config


DATABASES = {
    "default": database(env("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
}
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
# Only production collects static files (production.py); elsewhere whitenoise reads the
# app folders, and a STATIC_ROOT that was never collected would only draw its warning.
STATIC_ROOT = None
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# --- Redis and the job queue -------------------------------------------------------------------
# REDIS_URL unset means "use the embedded Redis that scripts/run starts" (see local.py).
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")


def redis_with_timeouts(redis_url: str, *, read: float | None = None) -> str:
    """``redis_url`` with connect and read timeouts unless it sets them itself. Posting must not
    hang when the Redis host is unreachable (it records the tape and the reconcile step enqueues
    it later). RQ's worker raises the read timeout above its own blocking wait by itself."""
    bounds = {
        "socket_connect_timeout": NETWORK_CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": NETWORK_READ_TIMEOUT_SECONDS if read is None else read,
    }
    for name, seconds in bounds.items():
        if f"{name}=" not in redis_url:
            redis_url += ("&" if "?" in redis_url else "?") + f"{name}={seconds:g}"
    return redis_url


def rq_queues(redis_url: str) -> dict[str, dict]:
    """The queues: ``encode`` (CPU bound), ``federate`` and ``bluesky`` (wait on PDSes and
    Bluesky's video service) and ``default``, where
    federate jobs queued before federation had its own queue wait (a federation worker drains
    it). A job's own timeout (the federate job's is shorter) wins over DEFAULT_TIMEOUT."""
    redis_url = redis_with_timeouts(redis_url, read=10)
    return {
        name: {"URL": redis_url, "DEFAULT_TIMEOUT": 900}
        for name in ("default", "encode", "federate", "bluesky")
    }


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


def s3_client_config(addressing_style: str = "path") -> Config:
    # Given a client_config, django-storages ignores its own addressing_style and
    # signature_version options, so they are set here as well.
    return Config(
        s3={"addressing_style": addressing_style},
        signature_version="s3v4",
        connect_timeout=NETWORK_CONNECT_TIMEOUT_SECONDS,
        read_timeout=NETWORK_READ_TIMEOUT_SECONDS,
        retries={"max_attempts": 3, "mode": "standard"},
    )


if TAPES_STORAGE == "s3":
    _addressing = env("AWS_S3_ADDRESSING_STYLE", default="path")
    _s3_options = {
        "access_key": env("AWS_ACCESS_KEY_ID"),
        "secret_key": env("AWS_SECRET_ACCESS_KEY"),
        "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
        "region_name": env("AWS_S3_REGION_NAME", default="us-east-1"),
        "addressing_style": _addressing,
        "signature_version": "s3v4",
        "client_config": s3_client_config(_addressing),
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 3600,
        "file_overwrite": True,
    }
    for _bucket, _alias in TAPES_BUCKET_STORAGES.items():
        STORAGES[_alias] = {
            "BACKEND": "tapesite.s3.S3Storage",
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
# An upload slot never posted is deleted with its ZIP this long after it was started (an hour).
TAPES_UPLOAD_ABANDONED_AFTER_SECONDS = env.int("TAPES_UPLOAD_ABANDONED_AFTER_SECONDS", default=3600)
# How many never-posted upload slots one client (a user, or a guest's address) may hold.
TAPES_UPLOAD_MAX_OPEN_PER_CLIENT = env.int("TAPES_UPLOAD_MAX_OPEN_PER_CLIENT", default=10)
# Posting quotas, per poster over the last 24 hours (a rolling window counted in the database, so
# every web node sees the same): a signed-in user, and a guest's address (the throttles' client
# address, TAPES_TRUSTED_PROXIES). Registered tapes count with their size, upload slots not yet
# posted with their declared size until their form expires. 0 turns a limit off; users with the
# tapes.post_without_quota permission (superusers) have none. See docs/operations.md.
TAPES_QUOTA_USER_TAPES_PER_DAY = env.int("TAPES_QUOTA_USER_TAPES_PER_DAY", default=200)
TAPES_QUOTA_USER_BYTES_PER_DAY = env.int("TAPES_QUOTA_USER_BYTES_PER_DAY", default=2 * 1024**3)
TAPES_QUOTA_GUEST_TAPES_PER_DAY = env.int("TAPES_QUOTA_GUEST_TAPES_PER_DAY", default=50)
TAPES_QUOTA_GUEST_BYTES_PER_DAY = env.int("TAPES_QUOTA_GUEST_BYTES_PER_DAY", default=500 * 1024**2)
# Registered sites (the sites app): what a site whose own limit is 0 may post, counted over all
# of its pages' clients on top of each client's own quota and rate.
TAPES_SITE_TAPES_PER_DAY = env.int("TAPES_SITE_TAPES_PER_DAY", default=1000)
TAPES_SITE_BYTES_PER_DAY = env.int("TAPES_SITE_BYTES_PER_DAY", default=10 * 1024**3)
TAPES_SITE_POSTS_PER_MINUTE = env.int("TAPES_SITE_POSTS_PER_MINUTE", default=120)
# How long browsers may keep a preflight's answer for the tapes API.
TAPES_CORS_MAX_AGE_SECONDS = env.int("TAPES_CORS_MAX_AGE_SECONDS", default=600)
# Media are served through the site (a visibility check), redirecting to S3 links that live this
# long: a nuked tape's media stop working within it.
TAPES_MEDIA_URL_SECONDS = env.int("TAPES_MEDIA_URL_SECONDS", default=60)
# The promise to shared caches (nginx's proxy_cache, a CDN; tapes.caching, docs/operations.md):
# a ready public tape's reads may be kept, by a shared cache and then a browser together, at most
# this long, so a nuked or hidden tape is gone from every cache within it.
TAPES_SHARED_CACHE_SECONDS = env.int("TAPES_SHARED_CACHE_SECONDS", default=60)
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
# The queues `manage.py tapes_worker` works when not given --queues, first first. One worker for
# everything suits a small site; give encoding and federation their own workers (./scripts/run,
# docs/operations.md) so a slow PDS never holds up encoding. "default" holds federate jobs queued
# before federation had its own queue: keep a federation worker on it until it is empty.
TAPES_WORKER_QUEUES = env.list(
    "TAPES_WORKER_QUEUES", default=["encode", "federate", "bluesky", "default"]
)
TAPES_MAX_ATTEMPTS = env.int("TAPES_MAX_ATTEMPTS", default=5)
# Back-off between transient encode failures (storage down, worker killed), in seconds.
TAPES_RETRY_INTERVALS = env.list("TAPES_RETRY_INTERVALS", cast=int, default=[15, 60, 180, 600])
# Overrides of tapes.archive.ArchiveLimits (e.g. {"max_duration_ms": 60000}) and of
# tapes.encoder.EncodeSettings; the defaults there are the documented ones.
TAPES_ARCHIVE_LIMITS: dict[str, int | float] = {}
TAPES_ENCODER: dict[str, Any] = {}
TAPES_API_MAX_BODY_BYTES = 64 * 1024
# What the tape page's player may inflate in a visitor's browser (it plays checked tapes only,
# and never more than the archive reader accepts either): each frame, and all of them together.
TAPES_PLAYER_MAX_ENTRY_BYTES = env.int("TAPES_PLAYER_MAX_ENTRY_BYTES", default=16 * 1024 * 1024)
TAPES_PLAYER_MAX_TOTAL_BYTES = env.int("TAPES_PLAYER_MAX_TOTAL_BYTES", default=256 * 1024 * 1024)
# How long the owner of a deleted tape (or the guest holding its claim token) may undo the delete.
TAPES_OWNER_UNDO_SECONDS = max(env.int("TAPES_OWNER_UNDO_SECONDS", default=24 * 3600), 600)

# The recorder page: its canvas (1x, the size of the frames it stores) and its time limit, which
# the page never lets exceed the archive reader's max_duration_ms.
TAPES_RECORD_LIMIT_SECONDS = env.int("TAPES_RECORD_LIMIT_SECONDS", default=60)
TAPES_RECORD_WIDTH = 256
TAPES_RECORD_HEIGHT = 192
# Feeds and sitemap (docs/feeds.md): entries per Atom feed, how long readers and caches may keep
# a feed before asking again (they then revalidate with its ETag), URLs per sitemap page.
TAPES_FEED_ENTRIES = env.int("TAPES_FEED_ENTRIES", default=50)
TAPES_FEED_MAX_AGE_SECONDS = env.int("TAPES_FEED_MAX_AGE_SECONDS", default=300)
TAPES_SITEMAP_PAGE_SIZE = min(env.int("TAPES_SITEMAP_PAGE_SIZE", default=10000), 50000)
# Where the tape page links an AT Protocol record (its at:// URI is appended).
TAPES_AT_RECORD_VIEWER = env("TAPES_AT_RECORD_VIEWER", default="https://pdsls.dev/")
# The record page (/at/<did>/<collection>/<rkey>) plays a record's video through the site (the
# PDS may be one browsers cannot reach, and the CSP stays 'self'): the largest file it relays.
TAPES_AT_BLOB_MAX_BYTES = env.int("TAPES_AT_BLOB_MAX_BYTES", default=10485760)

# --- Accounts: Auth0, or the site's own accounts -----------------------------------------------
# Auth0 is optional. Leave every AUTH0_* unset and the site signs people in itself (a sign-in and
# a sign-up form); set AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and AUTH0_AUDIENCE
# together and the same buttons go to Auth0 instead. Setting only some of them stops the start.
AUTH0_DOMAIN = env("AUTH0_DOMAIN", default="")
AUTH0_CLIENT_ID = env("AUTH0_CLIENT_ID", default="")
AUTH0_CLIENT_SECRET = env("AUTH0_CLIENT_SECRET", default="")
# The API's identifier in Auth0: access tokens must name it in their `aud`.
AUTH0_AUDIENCE = env("AUTH0_AUDIENCE", default="")
# Another OpenID provider that behaves like Auth0 (the tests' local one); the issuer exactly as
# the provider writes it in `iss`. Default: https://AUTH0_DOMAIN/ (Auth0's, with its slash).
AUTH0_ISSUER = env("AUTH0_ISSUER", default="")
# Clock skew allowed on exp/nbf/iat of access tokens, in seconds.
AUTH0_LEEWAY_SECONDS = env.int("AUTH0_LEEWAY_SECONDS", default=30)
# The issuer's keys (JWKS) and metadata are cached this long (in the shared Django cache); an
# unknown `kid` refetches them at most once per cooldown, so a flood of made-up kids cannot make
# every request go to the provider.
AUTH0_JWKS_CACHE_SECONDS = env.int("AUTH0_JWKS_CACHE_SECONDS", default=3600)
AUTH0_JWKS_REFETCH_COOLDOWN_SECONDS = env.int("AUTH0_JWKS_REFETCH_COOLDOWN_SECONDS", default=60)
AUTH0_HTTP_TIMEOUT_SECONDS = 5


def auth0_settings_check(values: dict[str, str]) -> None:
    """All of Auth0's settings or none: half a configuration would leave sign-in or the API's
    token check silently broken."""
    required = ("AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_AUDIENCE")
    given = [name for name in (*required, "AUTH0_DOMAIN", "AUTH0_ISSUER") if values.get(name)]
    if not given:
        return
    missing = [name for name in required if not values.get(name)]
    if not (values.get("AUTH0_DOMAIN") or values.get("AUTH0_ISSUER")):
        missing.insert(0, "AUTH0_DOMAIN")
    if missing:
        raise ImproperlyConfigured(
            f"Auth0 is half configured: {', '.join(given)} set but {', '.join(missing)} missing. "
            "Set all of AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and AUTH0_AUDIENCE, "
            "or none of them to use the site's own accounts."
        )


auth0_settings_check(
    {
        "AUTH0_DOMAIN": AUTH0_DOMAIN,
        "AUTH0_ISSUER": AUTH0_ISSUER,
        "AUTH0_CLIENT_ID": AUTH0_CLIENT_ID,
        "AUTH0_CLIENT_SECRET": AUTH0_CLIENT_SECRET,
        "AUTH0_AUDIENCE": AUTH0_AUDIENCE,
    }
)

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:me"
LOGOUT_REDIRECT_URL = "/"

# --- AT Protocol (federation) ------------------------------------------------------------------
# Where DIDs and handles resolve. Production: the public PLC directory, and handles through DNS and
# HTTPS (an empty resolver URL); development and tests point both at the local PLC and PDS.
ATPROTO_PLC_URL = env("ATPROTO_PLC_URL", default="https://plc.directory")
ATPROTO_HANDLE_RESOLVER_URL = env("ATPROTO_HANDLE_RESOLVER_URL", default="")
# The site's own PDS (for atproto_provision) and the site's own account (atproto_publish_lexicon).
ATPROTO_PDS_URL = env("ATPROTO_PDS_URL", default="")
ATPROTO_PDS_ADMIN_PASSWORD = env("ATPROTO_PDS_ADMIN_PASSWORD", default="")
ATPROTO_PDS_INVITE_CODE = env("ATPROTO_PDS_INVITE_CODE", default="")
ATPROTO_SITE_IDENTIFIER = env("ATPROTO_SITE_IDENTIFIER", default="")
ATPROTO_SITE_APP_PASSWORD = env("ATPROTO_SITE_APP_PASSWORD", default="")
# Fernet keys for app passwords and sessions at rest; the first encrypts, all decrypt (rotation:
# put a new key first, run `manage.py atproto_rotate_key`, then drop the old one). Required in
# production; local and test settings derive one from SECRET_KEY.
ATPROTO_ENCRYPTION_KEYS: list[str] = env.list("ATPROTO_ENCRYPTION_KEYS", default=[])
ATPROTO_FEDERATE_MAX_ATTEMPTS = env.int("ATPROTO_FEDERATE_MAX_ATTEMPTS", default=8)
# A nuked tape's record delete gives up after this many attempts (about half a day of back-off)
# and waits as failed, code record_delete_failed, for staff to retry or abandon it in the admin.
ATPROTO_DELETE_MAX_ATTEMPTS = env.int("ATPROTO_DELETE_MAX_ATTEMPTS", default=16)
# Back-off between transient federation failures (PDS down, 429), in seconds: each wait about
# three times the last (federation.backoff), never under the floor nor over the cap, whatever a
# 429's ratelimit-reset says.
ATPROTO_RETRY_FLOOR_SECONDS = env.float("ATPROTO_RETRY_FLOOR_SECONDS", default=10.0)
ATPROTO_RETRY_CAP_SECONDS = env.float("ATPROTO_RETRY_CAP_SECONDS", default=3600.0)
# A federate job's whole run (a few PDS calls, each with its own deadline) may take this long;
# RQ kills it then. Keep it under ATPROTO_STUCK_AFTER_SECONDS.
ATPROTO_FEDERATE_JOB_TIMEOUT_SECONDS = env.int("ATPROTO_FEDERATE_JOB_TIMEOUT_SECONDS", default=300)
# A pending record whose job showed no sign of life this long is requeued by reconcile; the next
# requeue waits longer (back-off from this floor to ATPROTO_RETRY_CAP_SECONDS), and after
# ATPROTO_STUCK_MAX_REQUEUES it is failed as federation_stuck (record_delete_failed for a delete).
ATPROTO_STUCK_AFTER_SECONDS = env.int("ATPROTO_STUCK_AFTER_SECONDS", default=900)
ATPROTO_STUCK_MAX_REQUEUES = env.int("ATPROTO_STUCK_MAX_REQUEUES", default=4)
ATPROTO_LEXICON_DIR = BASE_DIR / "lexicons"
# The public address of the site, for the record's link back to the tape's page.
TAPES_SITE_URL = env("TAPES_SITE_URL", default="http://127.0.0.1:8000")
# Origins whose browsers may upload to the buckets besides TAPES_SITE_URL's and the registered
# sites' (tapes_storage_setup and the job that follows the sites admin apply them all).
TAPES_STORAGE_CORS_ORIGINS = env.list("TAPES_STORAGE_CORS_ORIGINS", default=[])

# --- Bluesky: the "Tapes" custom feed (the site as a feed generator; docs/bluesky.md) ----------
# The host of the site's did:web (did:web:<host>) and of the endpoint Bluesky's AppView calls;
# empty: TAPES_SITE_URL's host (and port, as did:web spells it: %3A).
BLUESKY_FEEDGEN_HOSTNAME = env("BLUESKY_FEEDGEN_HOSTNAME", default="")
# The account that publishes the feed record (manage.py bluesky_feed_publish): a handle or DID
# and an app password, from the environment only; by default the site's own account.
BLUESKY_FEED_PUBLISHER_IDENTIFIER = env(
    "BLUESKY_FEED_PUBLISHER_IDENTIFIER", default=ATPROTO_SITE_IDENTIFIER
)
BLUESKY_FEED_PUBLISHER_APP_PASSWORD = env(
    "BLUESKY_FEED_PUBLISHER_APP_PASSWORD", default=ATPROTO_SITE_APP_PASSWORD
)
# The DID of that account, which the feed's at:// URI names; empty: the identifier when it is a
# DID. The views never resolve a handle, so a handle publisher needs this set (the publish
# command prints it).
BLUESKY_FEED_PUBLISHER_DID = env("BLUESKY_FEED_PUBLISHER_DID", default="")
# The feed record's rkey: at://<publisher DID>/app.bsky.feed.generator/<rkey>.
BLUESKY_FEED_RKEY = env("BLUESKY_FEED_RKEY", default="tapes")
# The did.json and the app.bsky.feed.* methods answer only when the feed generator is on. Unset:
# on as soon as the publisher's DID is known (there is no feed to serve before that).
BLUESKY_FEEDGEN_ENABLED: bool | None = env.bool("BLUESKY_FEEDGEN_ENABLED", default=None)

# --- Bluesky: the video service (app.bsky.video.*) that processes a posted tape's video --------
# Its address and DID (the aud of the token that lets it check the upload limits); production:
# Bluesky's. docs/bluesky.md "The video service".
BLUESKY_VIDEO_SERVICE_URL = env("BLUESKY_VIDEO_SERVICE_URL", default="https://video.bsky.app")
BLUESKY_VIDEO_SERVICE_DID = env("BLUESKY_VIDEO_SERVICE_DID", default="did:web:video.bsky.app")
# How long one posting job waits for the service to finish processing, and how often it asks;
# past the window the job is retried later and polls the same job.
BLUESKY_VIDEO_POLL_SECONDS = env.float("BLUESKY_VIDEO_POLL_SECONDS", default=120.0)
BLUESKY_VIDEO_POLL_INTERVAL_SECONDS = env.float("BLUESKY_VIDEO_POLL_INTERVAL_SECONDS", default=2.0)
# The deadline of the upload call (the copy is at most BLUESKY_VIDEO_MAX_BYTES).
BLUESKY_VIDEO_UPLOAD_DEADLINE_SECONDS = env.float(
    "BLUESKY_VIDEO_UPLOAD_DEADLINE_SECONDS", default=300.0
)
# What Bluesky takes: the copy's upscale keeps within the sides, and a copy past the bytes or a
# tape past the seconds is posted as a link card without asking the service.
BLUESKY_VIDEO_MAX_LONG_SIDE = env.int("BLUESKY_VIDEO_MAX_LONG_SIDE", default=1920)
BLUESKY_VIDEO_MAX_SHORT_SIDE = env.int("BLUESKY_VIDEO_MAX_SHORT_SIDE", default=1080)
BLUESKY_VIDEO_MAX_BYTES = env.int("BLUESKY_VIDEO_MAX_BYTES", default=100_000_000)
BLUESKY_VIDEO_MAX_SECONDS = env.float("BLUESKY_VIDEO_MAX_SECONDS", default=180.0)

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Bearer first: its WWW-Authenticate makes an unauthenticated API call a 401, and a request
    # with a token never needs a CSRF token (a browser cannot add that header cross-site).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.Auth0BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": ["tapesite.api.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "tapesite.api.exception_handler",
    # An Accept the API cannot meet (text/html once production drops the browsable renderer)
    # gets JSON anyway, not a 406.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tapesite.api.JSONFallbackNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["tapesite.throttling.ScopedRateThrottle"],
    # How many proxies in front of the site append to X-Forwarded-For. 0 (the default): the
    # client is REMOTE_ADDR and the header is ignored, since anyone can send it. Behind exactly
    # one reverse proxy that sets X-Forwarded-For (nginx, a load balancer), set 1; behind a CDN
    # and a load balancer, 2. Too high a number lets clients pick their own identity.
    "NUM_PROXIES": env.int("TAPES_TRUSTED_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "tape_upload": env("TAPES_THROTTLE_UPLOAD", default="60/min"),
        "tape_post": env("TAPES_THROTTLE_POST", default="60/min"),
        "tape_read": env("TAPES_THROTTLE_READ", default="600/min"),
        "tape_claim": env("TAPES_THROTTLE_CLAIM", default="30/min"),
        "account": env("ACCOUNTS_THROTTLE", default="60/min"),
        "tape_media": env("TAPES_THROTTLE_MEDIA", default="1200/min"),
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
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tapesite.openapi.add_error_responses",
    ],
}

# Throttle counters must be shared by every web node, so production points "throttle" at Redis.
# The throttle fails open when its cache is unreachable (tapesite.throttling): a cache outage
# must not take the API down with it.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "throttle",
    },
    # Auth0's metadata and keys (accounts.auth0); production shares it through Redis.
    "auth0": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "auth0"},
}
# After the throttle cache fails, requests skip it for this long instead of each paying a
# connect timeout.
TAPES_THROTTLE_CACHE_RETRY_SECONDS = env.float("TAPES_THROTTLE_CACHE_RETRY_SECONDS", default=10.0)

# The AT Protocol client (PDS calls, made by the federation jobs) uses these bounds: (connect,
# total) seconds; the second is the whole call's deadline (see the egress client below).
TAPES_PDS_TIMEOUT = (
    env.float("TAPES_PDS_CONNECT_TIMEOUT_SECONDS", default=NETWORK_CONNECT_TIMEOUT_SECONDS),
    env.float("TAPES_PDS_READ_TIMEOUT_SECONDS", default=15.0),
)
# Sending a video to a PDS (uploadBlob) may take longer than any other call.
TAPES_PDS_BLOB_DEADLINE_SECONDS = env.float("TAPES_PDS_BLOB_DEADLINE_SECONDS", default=120.0)

# The egress client (tapesite.egress): every request to an address a user can influence (handle
# and DID resolution, PDS calls). Non-global addresses (loopback, private, link-local, CGNAT...)
# are refused unless the URL's origin (scheme://host:port) is listed here; only listed origins
# may use plain http, and not even they when https is required. Secure by default: https
# required, nothing listed. Development lists its local PDS and PLC (local.py).
TAPES_EGRESS_ALLOWED_ORIGINS: list[str] = env.list("TAPES_EGRESS_ALLOWED_ORIGINS", default=[])
TAPES_EGRESS_REQUIRE_HTTPS = env.bool("TAPES_EGRESS_REQUIRE_HTTPS", default=True)
TAPES_EGRESS_CONNECT_TIMEOUT_SECONDS = env.float(
    "TAPES_EGRESS_CONNECT_TIMEOUT_SECONDS", default=NETWORK_CONNECT_TIMEOUT_SECONDS
)
# The total time of one call (resolving, connecting, sending, reading), however slowly the
# server trickles its answer.
TAPES_EGRESS_DEADLINE_SECONDS = env.float("TAPES_EGRESS_DEADLINE_SECONDS", default=10.0)
# The largest answer read (DID documents and XRPC answers are a few KiB).
TAPES_EGRESS_MAX_BYTES = env.int("TAPES_EGRESS_MAX_BYTES", default=1024 * 1024)
TAPES_EGRESS_USER_AGENT = env("TAPES_EGRESS_USER_AGENT", default="tapesite/1")

# "json" (one object per line, for a log shipper) or "plain" (for a terminal). Tape status changes
# (logger tapes.transitions) are always JSON lines: machines read them.
LOG_FORMAT = env("DJANGO_LOG_FORMAT", default="plain")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ops.jsonlog.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
        "json": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "tapes.transitions": {"handlers": ["json"], "level": "INFO", "propagate": False},
    },
}

# --- Browser-facing headers (tapesite.headers; docs/operations.md) ------------------------------
# Scripts and styles from the site only, nothing inline, no plugins, no framing. The storage
# origins (S3 presigned links and upload forms) join img-src, media-src and connect-src, and the
# sign-in provider joins form-action, derived from their settings. A view meant to be embedded
# opts in with tapesite.headers.allow_framing.
CONTENT_SECURITY_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # data: for the small icons the admin's and the API reference's stylesheets inline.
    "img-src": ["'self'", "data:"],
    "media-src": ["'self'"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "worker-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Features no page of the site uses (the recorder draws with a pointer; it never asks for a
# camera or microphone), denied to the site and anything it embeds.
PERMISSIONS_POLICY_DENY: list[str] = [
    "accelerometer",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "serial",
    "usb",
    "browsing-topics",
]
# Other sites learn nothing of the page a visitor came from (tape codes are in the paths).
SECURE_REFERRER_POLICY = env("DJANGO_SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CONTENT_TYPE_NOSNIFF = True
# X-Frame-Options for browsers that do not read frame-ancestors.
X_FRAME_OPTIONS = "DENY"

# --- Operations ----------------------------------------------------------------------------------
# Prometheus scrapes /metrics with "Authorization: Bearer <token>"; unset, only staff may read it.
TAPES_METRICS_TOKEN = env("TAPES_METRICS_TOKEN", default="")
