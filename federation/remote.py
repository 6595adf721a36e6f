"""The site's clients for AT Protocol servers, configured from the settings: the pure XRPC
client and identity resolution (``federation.xrpc``, ``federation.identity``) over the one
egress client (``tapesite.egress``)."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings

from federation import identity
from federation.xrpc import Xrpc
from tapesite import egress


def pds(pds_url: str) -> Xrpc:
    """An XRPC client for the PDS at ``pds_url``."""
    connect, total = settings.TAPES_PDS_TIMEOUT
    config = replace(egress.config_from_settings(), connect_timeout=float(connect))
    client = egress.Egress(config)
    return Xrpc(
        pds_url,
        egress=client,
        deadline=float(total),
        blob_deadline=float(settings.TAPES_PDS_BLOB_DEADLINE_SECONDS),
    )


def resolve(identifier: str) -> identity.Identity:
    """The account behind a handle or DID (raises ``identity.IdentityError``)."""
    return identity.resolve(
        identifier,
        egress=egress.from_settings(),
        plc_url=settings.ATPROTO_PLC_URL,
        handle_resolver_url=settings.ATPROTO_HANDLE_RESOLVER_URL,
        dns_timeout=float(settings.TAPES_EGRESS_DEADLINE_SECONDS),
    )
