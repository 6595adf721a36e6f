"""Linking and unlinking a user's AT Protocol account."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from federation import identity, remote, secrets
from federation.errors import public_message
from federation.models import AccountState, AtprotoAccount
from federation.services.sessions import (
    MAIN_PASSWORD_SCOPE,
    decrypt,
    encrypt,
    jwt_scope,
    session_store,
)
from federation.services.site_pds import SitePds, atproto_account_create, handle_name_from
from federation.xrpc import XrpcError
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)


# A user-named server that is refused (an internal address, plain http) is the user's input
# problem; one that misbehaves (a redirect, an oversized answer, a bad certificate) is a bad
# gateway.
_INPUT_CODES = {"egress_address_refused", "egress_https_required", "egress_url_invalid"}


def _resolve(identifier: str) -> identity.Identity:
    try:
        return remote.resolve(identifier)
    except identity.IdentityError as exc:
        logger.info("resolving %r failed: %s %s", identifier[:200], exc.code, exc.message)
        unreachable = exc.code == "atproto_resolver_unreachable"
        misbehaved = exc.code.startswith("egress_") and exc.code not in _INPUT_CODES
        status = 502 if unreachable or misbehaved else 400
        raise TapesiteError(exc.code, public_message(exc.code), status=status) from exc


def pds_error(exc: XrpcError) -> TapesiteError:
    """A PDS failure as the API's error: the fixed message of its code. The detail (the PDS's
    own text, its address) goes to the log only."""
    logger.warning("PDS call failed: %s %s", exc.code, exc.message)
    status = {"pds_unreachable": 502, "pds_rate_limited": 429, "pds_auth_failed": 400}.get(
        exc.code, 400 if exc.code in _INPUT_CODES else 502
    )
    details = {"retry_at": int(exc.reset_at)} if exc.reset_at else None
    return TapesiteError(exc.code, public_message(exc.code), status=status, details=details)


@sensitive_variables("app_password", "session")
def atproto_account_link(*, user: User, identifier: str, app_password: str) -> AtprotoAccount:
    """Link (or relink) ``user`` to the account behind a handle or DID, with an app password.

    The password is checked by logging in once; that session is kept for the worker.
    """
    if not app_password or len(app_password) > 256:
        raise TapesiteError("app_password_invalid", public_message("app_password_invalid"))
    found = _resolve(identifier)
    try:
        session = remote.pds(found.pds_url).create_session(found.did, app_password)
    except XrpcError as exc:
        if exc.code == "pds_auth_failed":
            logger.info("linking %s: %s", found.did, exc.message)
            raise TapesiteError(
                "pds_auth_failed", "The PDS refused that app password for this account."
            ) from exc
        raise pds_error(exc) from exc
    if session.get("did") != found.did:
        raise TapesiteError("atproto_handle_mismatch", "The PDS signed in a different account.")
    if jwt_scope(str(session.get("accessJwt", ""))) == MAIN_PASSWORD_SCOPE:
        # Signed in, but with the account's own password: the site keeps app passwords only,
        # which the user can revoke without changing their password.
        raise TapesiteError("atproto_main_password", public_message("atproto_main_password"))
    with transaction.atomic():
        account = AtprotoAccount.objects.select_for_update().filter(user=user).first()
        if account is None:
            account = AtprotoAccount(user=user)
        account.did = found.did
        account.handle = found.handle
        account.pds_url = found.pds_url
        account.app_password = encrypt(app_password)
        account.state = AccountState.LINKED
        account.error_code = account.error_message = ""
        account.logins += 1
        account.full_clean(exclude=["session", "user"])
        account.save()
        session_store(
            account=account, access_jwt=session["accessJwt"], refresh_jwt=session["refreshJwt"]
        )
    logger.info("user %s linked %s (%s)", user.pk, found.handle, found.did)
    return account


@transaction.atomic
def atproto_account_unlink(*, user: User) -> bool:
    """Forget the account and its credentials. Records on the PDS stay (see
    federation.services.federate.atproto_records_delete_all to remove them first)."""
    deleted, _ = AtprotoAccount.objects.filter(user=user).delete()
    return bool(deleted)


def atproto_keys_rotate() -> int:
    """Re-encrypt every stored credential with the first key of ATPROTO_ENCRYPTION_KEYS."""
    keys = list(settings.ATPROTO_ENCRYPTION_KEYS)
    changed = 0
    for pk in AtprotoAccount.objects.values_list("pk", flat=True):
        with transaction.atomic():
            account = AtprotoAccount.objects.select_for_update().get(pk=pk)
            account.app_password = secrets.rotate(account.app_password, keys)
            if account.session:
                account.session = secrets.rotate(account.session, keys)
            account.save(update_fields=["app_password", "session", "updated_at"])
            changed += 1
    return changed


def app_password_of(account: AtprotoAccount) -> str:
    return decrypt(account.app_password)


def atproto_account_provision(
    *, user: User, pds_url: str, admin_password: str = "", invite_code: str = ""
) -> AtprotoAccount:
    """Create an account for ``user`` on the site's own PDS and link it with a fresh app
    password (``manage.py atproto_provision``): the handle is the username's with the user's id,
    so a batch never trips on a taken name. See ``federation.services.site_pds``."""
    suffix = str(user.pk)
    name = handle_name_from(user.username)[: 18 - len(suffix)].rstrip("-") + suffix
    pds = SitePds(url=pds_url.rstrip("/"), admin_password=admin_password, invite_code=invite_code)
    return atproto_account_create(user=user, handle_name=name, pds=pds)
