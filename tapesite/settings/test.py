"""Settings for the test suite: the real services the test command starts (PostgreSQL, Redis).

There is deliberately no SQLite fallback here: a missing PostgreSQL must fail the run, not quietly
change what the tests prove.
"""

from federation.secrets import derive_key

from .base import *  # noqa: F403
from .base import database, env

SECRET_KEY = "test-only-key"
DEBUG = False
DATABASES = {
    "default": database(env("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/tapesite")),
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Stored AT Protocol credentials are encrypted even here; a key derived from SECRET_KEY unless set.
ATPROTO_ENCRYPTION_KEYS = env.list("ATPROTO_ENCRYPTION_KEYS", default=[derive_key(SECRET_KEY)])

# The suite's PDS and PLC listen on free loopback ports chosen at start: the fixtures that start
# them (tests/support/pds.py) put their origins on TAPES_EGRESS_ALLOWED_ORIGINS. Plain http is
# allowed for those origins only.
TAPES_EGRESS_REQUIRE_HTTPS = False
