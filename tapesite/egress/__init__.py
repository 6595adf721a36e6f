"""The one egress client: every request to an address a user can influence goes through it.

Handle and DID resolution, PDS calls, and later Bluesky, oEmbed and discovery fetches use
``from_settings()`` (configured from the settings) or an ``Egress`` built with an ``EgressConfig``
(pure code and unit tests). See ``tapesite.egress.client`` for what one call guarantees,
``tapesite.egress.connection`` for the connections it keeps, and docs/operations.md for the
settings. Plumbing: imports no app.
"""

from __future__ import annotations

from tapesite.egress.addresses import address_refusal, is_global_address, origin, origins
from tapesite.egress.client import MESSAGES, Egress, EgressConfig, EgressError, EgressResponse
from tapesite.egress.connection import SHARED_POOL, ConnectionPool

__all__ = [
    "MESSAGES",
    "SHARED_POOL",
    "ConnectionPool",
    "Egress",
    "EgressConfig",
    "EgressError",
    "EgressResponse",
    "address_refusal",
    "config_from_settings",
    "from_settings",
    "is_global_address",
    "origin",
    "origins",
]


def config_from_settings() -> EgressConfig:
    """The configuration the settings give (read on every call: tests change settings)."""
    from django.conf import settings

    return EgressConfig(
        allowed_origins=origins(list(settings.TAPES_EGRESS_ALLOWED_ORIGINS)),
        require_https=bool(settings.TAPES_EGRESS_REQUIRE_HTTPS),
        connect_timeout=float(settings.TAPES_EGRESS_CONNECT_TIMEOUT_SECONDS),
        deadline=float(settings.TAPES_EGRESS_DEADLINE_SECONDS),
        max_bytes=int(settings.TAPES_EGRESS_MAX_BYTES),
        user_agent=str(settings.TAPES_EGRESS_USER_AGENT),
    )


def from_settings() -> Egress:
    """A client with the settings' configuration and the process's shared connections."""
    return Egress(config_from_settings())
