"""Production: every secret and service address must come from the environment.

``env(...)`` without a default raises ImproperlyConfigured at start-up, which is the point: a node
with a missing secret must refuse to start rather than run with an unsafe default.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, rq_queues

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
REDIS_URL = env("REDIS_URL")
RQ_QUEUES = rq_queues(REDIS_URL)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60)
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

if TAPES_STORAGE != "s3":  # noqa: F405
    # Local files live on one machine; a second web node or worker would not see them.
    raise ImproperlyConfigured("production stores tapes in S3: set TAPES_STORAGE=s3")
