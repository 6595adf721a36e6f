"""PDS sessions of linked accounts: reused, refreshed, serialised per account.

A worker uses the stored access token while it is valid. When it is not, the worker takes the
account's row lock (``SELECT ... FOR UPDATE``), looks again (another worker may have refreshed
meanwhile), and only then spends the single-use refresh token, saving the rotated session before
the lock is released. It logs in with the app password only when there is no usable refresh
token: the PDS allows 30 logins per 5 minutes per account, so never once per tape.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from federation import remote, secrets
from federation.models import AccountState, AtprotoAccount
from federation.xrpc import Xrpc, XrpcError

logger = logging.getLogger(__name__)

# Renew this long before the access token expires, so a call never starts on a dying token.
_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class PdsSession:
    account_id: int
    did: str
    pds_url: str
    access_jwt: str
    refresh_jwt: str

    @property
    def xrpc(self) -> Xrpc:
        return remote.pds(self.pds_url)


def _keys() -> list[str]:
    return list(settings.ATPROTO_ENCRYPTION_KEYS)


def encrypt(value: str) -> str:
    return secrets.encrypt(value, _keys())


def decrypt(value: str) -> str:
    return secrets.decrypt(value, _keys())


#: The scope of a session made with an account's own password (app passwords get
#: ``com.atproto.appPass`` or ``com.atproto.appPassPrivileged``).
MAIN_PASSWORD_SCOPE = "com.atproto.access"


def _jwt_claims(token: str) -> dict[str, object]:
    # Unverified: the PDS verifies its tokens; the site only reads when to renew and the scope.
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def jwt_expiry(token: str) -> float:
    """The ``exp`` claim, or 0 when there is none."""
    try:
        return float(_jwt_claims(token)["exp"])  # type: ignore[arg-type]
    except (KeyError, ValueError, TypeError):
        return 0.0


def jwt_scope(token: str) -> str:
    """The ``scope`` claim ('' when there is none: other PDS implementations may not say)."""
    return str(_jwt_claims(token).get("scope", ""))


def _stored(account: AtprotoAccount) -> PdsSession | None:
    if not account.session:
        return None
    data = json.loads(decrypt(account.session))
    return PdsSession(
        account_id=account.pk,
        did=account.did,
        pds_url=account.pds_url,
        access_jwt=data["accessJwt"],
        refresh_jwt=data["refreshJwt"],
    )


def _usable(token: str) -> bool:
    return jwt_expiry(token) > time.time() + _MARGIN_SECONDS


def session_store(*, account: AtprotoAccount, access_jwt: str, refresh_jwt: str) -> None:
    account.session = encrypt(json.dumps({"accessJwt": access_jwt, "refreshJwt": refresh_jwt}))
    account.save(update_fields=["session", "updated_at"])


class AccountAuthFailed(Exception):
    """The PDS refused the app password; the account is marked and the user must relink."""

    def __init__(self, error: XrpcError) -> None:
        super().__init__(error.message)
        self.error = error


def account_session(*, account_id: int) -> PdsSession:
    """A session to act with: the stored one when still valid, else renewed under the lock."""
    account = AtprotoAccount.objects.get(pk=account_id)
    current = _stored(account)
    if current is not None and _usable(current.access_jwt):
        return current
    return _renew(account_id, failed_access=None)


def _renew(account_id: int, *, failed_access: str | None) -> PdsSession:
    """Refresh (or, with no usable refresh token, log in) under the account's row lock.

    ``failed_access`` is a token the PDS just refused: renew even if it does not look expired,
    unless another worker has already replaced it.
    """
    refused: XrpcError | None = None
    with transaction.atomic():
        account = AtprotoAccount.objects.select_for_update().get(pk=account_id)
        current = _stored(account)
        if (
            current is not None
            and _usable(current.access_jwt)
            and current.access_jwt != failed_access
        ):
            return current  # someone renewed it while we waited for the lock
        xrpc = remote.pds(account.pds_url)
        fresh: dict[str, str] | None = None
        if current is not None and _usable(current.refresh_jwt):
            try:
                fresh = xrpc.refresh_session(current.refresh_jwt)
                account.refreshes += 1
            except XrpcError as exc:
                if exc.code != "pds_auth_failed":
                    raise
                logger.info("refresh refused for %s, logging in again", account.did)
        if fresh is None:
            try:
                fresh = xrpc.create_session(account.did, decrypt(account.app_password))
                account.logins += 1
            except XrpcError as exc:
                if exc.code != "pds_auth_failed":
                    raise
                refused = exc
        if fresh is not None:
            account.state = AccountState.LINKED
            account.error_code = account.error_message = ""
            account.session = encrypt(
                json.dumps({"accessJwt": fresh["accessJwt"], "refreshJwt": fresh["refreshJwt"]})
            )
            account.save()
            return PdsSession(
                account_id=account.pk,
                did=account.did,
                pds_url=account.pds_url,
                access_jwt=fresh["accessJwt"],
                refresh_jwt=fresh["refreshJwt"],
            )
    assert refused is not None
    # Outside the lock's transaction, so the mark survives the exception.
    AtprotoAccount.objects.filter(pk=account_id).update(
        state=AccountState.AUTH_FAILED,
        error_code="pds_auth_failed",
        error_message="The PDS refused the app password; link the account again with a new one.",
        session="",
        updated_at=timezone.now(),
    )
    raise AccountAuthFailed(refused)


def with_session[T](*, account_id: int, action: Callable[[PdsSession], T]) -> T:
    """Run ``action`` with a session; if the PDS says the token expired or is invalid, renew
    once (under the lock) and run it again."""
    session = account_session(account_id=account_id)
    try:
        return action(session)
    except XrpcError as exc:
        if not (exc.token_expired or exc.code == "pds_auth_failed"):
            raise
        session = _renew(account_id, failed_access=session.access_jwt)
        return action(session)
