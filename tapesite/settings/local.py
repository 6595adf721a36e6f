"""Embedded defaults for a developer's machine: SQLite, local files, DEBUG."""

from federation.secrets import derive_key

from .base import *  # noqa: F403
from .base import (
    ATPROTO_HANDLE_RESOLVER_URL,
    ATPROTO_PDS_URL,
    ATPROTO_PLC_URL,
    INSTALLED_APPS,
    VAR_DIR,
    env,
    local_secret_key,
)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# runserver would answer /static/ itself, before any middleware, without whitenoise's
# Access-Control-Allow-Origin: pages on other origins (examples/) could not import the library.
INSTALLED_APPS = ["whitenoise.runserver_nostatic", *INSTALLED_APPS]
# Not a fixed key: one shared by every checkout would let anyone forge upload policies and
# sessions on a dev instance left reachable. Each checkout makes its own on first run, in var/
# (ignored by git).
SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or local_secret_key(VAR_DIR / "secret_key")

# Stored AT Protocol credentials are encrypted even here; a key derived from SECRET_KEY unless set.
ATPROTO_ENCRYPTION_KEYS = env.list("ATPROTO_ENCRYPTION_KEYS", default=[derive_key(SECRET_KEY)])

# The local PDS and PLC (scripts/run and scripts/pds export their URLs) listen on loopback, which
# the egress client refuses for anything else; their origins only, not the whole host. Plain
# http is allowed for them (and only them).
TAPES_EGRESS_ALLOWED_ORIGINS = env.list(
    "TAPES_EGRESS_ALLOWED_ORIGINS",
    default=[
        url
        for url in (ATPROTO_PDS_URL, ATPROTO_PLC_URL, ATPROTO_HANDLE_RESOLVER_URL)
        if url.startswith("http://")
    ],
)
TAPES_EGRESS_REQUIRE_HTTPS = env.bool("TAPES_EGRESS_REQUIRE_HTTPS", default=False)
