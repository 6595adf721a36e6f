"""Accounts on the site's own PDS: made for a user in one step (the AT Protocol page's "Create an
account on this site's PDS", and ``manage.py atproto_provision``) and linked at once.

The account's main password is random and kept nowhere: the site holds only the app password it
creates for itself, encrypted like any linked account's; the user can reset the main password by
email on the PDS.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from federation import remote
from federation.errors import public_message
from federation.models import AtprotoAccount
from federation.services.sessions import encrypt, session_store
from federation.xrpc import Xrpc, XrpcError
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

# The part of a handle before the PDS's domain, as the reference PDS accepts it: 3 to 18
# lowercase letters, digits and inner hyphens.
HANDLE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,16}[a-z0-9]$")


@dataclass(frozen=True)
class SitePds:
    url: str
    admin_password: str
    invite_code: str


def site_pds() -> SitePds | None:
    """The site's own PDS when the settings say it runs one that it may make accounts on
    (``ATPROTO_PDS_URL`` with ``ATPROTO_PDS_ADMIN_PASSWORD`` or ``ATPROTO_PDS_INVITE_CODE``)."""
    url = str(settings.ATPROTO_PDS_URL or "").rstrip("/")
    admin = str(settings.ATPROTO_PDS_ADMIN_PASSWORD or "")
    invite = str(settings.ATPROTO_PDS_INVITE_CODE or "")
    if not url or not (admin or invite):
        return None
    return SitePds(url=url, admin_password=admin, invite_code=invite)


def handle_name_from(username: str) -> str:
    """A handle name made from a username: lowercase, other characters as hyphens, 3-18 long."""
    name = re.sub(r"-+", "-", "".join(ch if ch.isalnum() else "-" for ch in username.lower()))
    name = "".join(ch for ch in name if ch.isascii()).strip("-")[:18].strip("-")
    return name if len(name) >= 3 else f"{name or 'tape'}-fan"[:18]


def _taken(exc: XrpcError) -> bool:
    return exc.error == "HandleNotAvailable" or "Handle already taken" in exc.message


def _available(xrpc: Xrpc, handle: str) -> bool:
    try:
        xrpc.resolve_handle(handle)
    except XrpcError as exc:
        return exc.code == "pds_rejected"  # "Unable to resolve handle": nobody has it
    return False


def _suggestion(xrpc: Xrpc, name: str, domain: str) -> str:
    """A free handle name close to ``name`` (asked of the PDS), or '' if none was found."""
    stem = name[:14].rstrip("-")
    for _ in range(4):
        candidate = f"{stem}{secrets.randbelow(9000) + 1000}"
        if _available(xrpc, f"{candidate}{domain}"):
            return candidate
    return ""


def _failure(exc: XrpcError) -> TapesiteError:
    logger.warning("creating an account on the site's PDS: %s %s", exc.code, exc.message)
    if exc.code == "pds_unreachable" or exc.code.startswith("egress_"):
        code = "atproto_site_pds_unreachable"
        return TapesiteError(code, public_message(code), status=502)
    return TapesiteError("atproto_site_pds_refused", public_message("atproto_site_pds_refused"))


@sensitive_variables("password", "app_password", "session", "created")
def atproto_account_create(
    *, user: User, handle_name: str | None = None, pds: SitePds | None = None
) -> AtprotoAccount:
    """Create an account for ``user`` on the site's own PDS, ``<handle_name><the PDS's handle
    domain>`` (default: from the username), and link it with a fresh app password, in one
    step. A taken handle is refused with ``atproto_handle_taken`` and a free one suggested
    (``details["suggestion"]``)."""
    pds = pds or site_pds()
    if pds is None:
        code = "atproto_site_pds_unavailable"
        raise TapesiteError(code, public_message(code), status=409)
    if AtprotoAccount.objects.filter(user=user).exists():
        code = "atproto_already_linked"
        raise TapesiteError(code, public_message(code), status=409)
    name = (handle_name or "").strip().lower().removeprefix("@") or handle_name_from(user.username)
    xrpc = remote.pds(pds.url)
    try:
        domains = xrpc.call("com.atproto.server.describeServer").get("availableUserDomains") or []
    except XrpcError as exc:
        raise _failure(exc) from exc
    domain = str(domains[0]) if domains else ""
    if not domain:
        raise TapesiteError("atproto_site_pds_refused", public_message("atproto_site_pds_refused"))
    name = name.removesuffix(domain)
    if not HANDLE_NAME.match(name):
        code = "atproto_handle_invalid"
        raise TapesiteError(code, public_message(code), details={"handle_name": name})
    handle = f"{name}{domain}"
    password = secrets.token_urlsafe(32)
    try:
        invite = pds.invite_code
        if not invite:
            invite = str(
                xrpc.call(
                    "com.atproto.server.createInviteCode",
                    body={"useCount": 1},
                    basic=("admin", pds.admin_password),
                )["code"]
            )
        body = {"handle": handle, "password": password, "inviteCode": invite}
        placeholder = f"{name}.{user.pk}@users.tapesite.invalid"
        try:
            created = xrpc.call(
                "com.atproto.server.createAccount",
                body={**body, "email": user.email or placeholder},
            )
        except XrpcError as exc:
            if not (user.email and "Email already taken" in exc.message):
                raise
            # The address is on another account of this PDS (one made before and unlinked):
            # the user can change it on the PDS later.
            created = xrpc.call(
                "com.atproto.server.createAccount", body={**body, "email": placeholder}
            )
        app_password = str(
            xrpc.call(
                "com.atproto.server.createAppPassword",
                body={"name": "tapesite"},
                token=created["accessJwt"],
            )["password"]
        )
        session = xrpc.create_session(str(created["did"]), app_password)
    except XrpcError as exc:
        if _taken(exc):
            code = "atproto_handle_taken"
            raise TapesiteError(
                code,
                public_message(code),
                status=409,
                details={"handle": handle, "suggestion": _suggestion(xrpc, name, domain)},
            ) from exc
        if exc.error == "InvalidHandle":
            code = "atproto_handle_invalid"
            raise TapesiteError(code, public_message(code), details={"handle_name": name}) from exc
        raise _failure(exc) from exc
    with transaction.atomic():
        account = AtprotoAccount(
            user=user,
            did=str(created["did"]),
            handle=handle,
            pds_url=pds.url,
            app_password=encrypt(app_password),
            provisioned=True,
            logins=1,
        )
        account.full_clean(exclude=["session", "user"])
        account.save()
        session_store(
            account=account, access_jwt=session["accessJwt"], refresh_jwt=session["refreshJwt"]
        )
    logger.info("created %s (%s) on the site's PDS for user %s", handle, account.did, user.pk)
    return account


def site_pds_handle_domain(pds: SitePds) -> str:
    """The handle domain the site's PDS offers (``.test`` locally), for the form's suffix; ''
    when it cannot be asked. Cached: pages show it on every view."""
    key = f"federation:site-pds-domain:{pds.url}"
    cached = cache.get(key)
    if cached is not None:
        return str(cached)
    try:
        domains = (
            remote.pds(pds.url)
            .call("com.atproto.server.describeServer")
            .get("availableUserDomains")
        )
    except XrpcError as exc:
        logger.info("describeServer on the site's PDS: %s %s", exc.code, exc.message)
        cache.set(key, "", 30)
        return ""
    domain = str(domains[0]) if isinstance(domains, list) and domains else ""
    cache.set(key, domain, 600)
    return domain
