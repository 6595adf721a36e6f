"""Production: every secret and service address must come from the environment.

``env(...)`` without a default raises ImproperlyConfigured at start-up, which is the point: a node
with a missing secret must refuse to start rather than run with an unsafe default.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import database, env, redis_with_timeouts, rq_queues

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": database(env("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
REDIS_URL = env("REDIS_URL")
# Fernet keys for stored app passwords and sessions (see base.py): no default in production.
ATPROTO_ENCRYPTION_KEYS = env.list("ATPROTO_ENCRYPTION_KEYS")
if not ATPROTO_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("set ATPROTO_ENCRYPTION_KEYS (Fernet keys, comma-separated)")
TAPES_SITE_URL = env("TAPES_SITE_URL")
# Every request to a user-named server is https, allowlisted origins included (see base.py).
TAPES_EGRESS_REQUIRE_HTTPS = True
RQ_QUEUES = rq_queues(REDIS_URL)
# Throttle counters are shared by every web node. A site may keep them apart from the queue's
# Redis; either way the throttle fails open while the cache is down.
_THROTTLE_REDIS_URL = redis_with_timeouts(
    env("TAPES_THROTTLE_REDIS_URL", default=REDIS_URL), read=0.5
)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _THROTTLE_REDIS_URL,
    },
    # The sign-in provider's metadata and keys, shared by every web process (accounts.auth0);
    # while this Redis is down each process keeps its own copy instead.
    "auth0": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_with_timeouts(REDIS_URL, read=0.5),
    },
}

LOG_FORMAT = env("DJANGO_LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # noqa: F405

# Collected static files with hashed names (cached for ever) and gzip/brotli twins, served by
# whitenoise; the scripts' ES module imports are rewritten to the hashed names too.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "tapesite.staticfiles.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static"))  # noqa: F405

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS (sent on HTTPS responses): a year. Subdomains only when asked, since they may be other
# services not all on HTTPS yet; preload only when the site means to join the browsers' lists.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# JSON only: the browsable API is for developers' machines.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

if TAPES_STORAGE != "s3":  # noqa: F405
    # Local files live on one machine; a second web node or worker would not see them.
    raise ImproperlyConfigured("production stores tapes in S3: set TAPES_STORAGE=s3")

if AUTH0_ISSUER and not AUTH0_ISSUER.startswith("https://"):  # noqa: F405
    # Tokens and keys fetched over plain HTTP could be swapped on the way.
    raise ImproperlyConfigured("AUTH0_ISSUER must be an https:// URL in production")
