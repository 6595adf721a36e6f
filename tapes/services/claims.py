"""Guests who become users: the claim token a guest's browser gets for each tape it posts, and
the claim that makes those tapes the signed-in user's.

The token is shown once, in the posting response; only its SHA-256 is stored (the token is 256
random bits, so a fast hash is enough: there is nothing to brute-force). Whoever holds it may
claim the tape, once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tapes import events
from tapes.models import GuestClaim, Tape
from tapes.services.relocate import tape_relocation_request
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

MAX_TOKENS_PER_CLAIM = 100
_TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def claim_token_issue(*, tape: Tape) -> str:
    """A new claim token for a guest's tape; the caller hands it to the guest and forgets it."""
    if tape.user_id is not None:
        raise TapesiteError("claim_not_guest", "Only a guest's tape has a claim token.")
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    claim = GuestClaim(tape=tape, token_sha256=_digest(token))
    # The tape is the caller's, just loaded or created: no query to check that it exists.
    claim.full_clean(exclude=["tape"], validate_unique=False, validate_constraints=False)
    claim.save(force_insert=True)
    return token


def claim_token_reissue(*, tape: Tape) -> str | None:
    """A new claim token for a guest's tape whose posting answer was asked for again (the first
    answer, and its token, may never have arrived): the old token stops working. None once the
    tape is claimed or is no longer a guest's."""
    if tape.user_id is not None:
        return None
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    if GuestClaim.objects.filter(tape=tape).exists():
        renewed = GuestClaim.objects.filter(tape=tape, claimed_at__isnull=True).update(
            token_sha256=_digest(token)
        )
        return token if renewed else None
    return claim_token_issue(tape=tape)


def claim_token_holds(*, tape: Tape, token: str) -> bool:
    """Whether ``token`` is the unclaimed claim token of the guest's ``tape`` (the proof that a
    browser posted it: its guest may delete it)."""
    if not token or len(token) > 200:
        return False
    return GuestClaim.objects.filter(
        tape_id=tape.pk, token_sha256=_digest(token), claimed_at__isnull=True
    ).exists()


@dataclass(frozen=True)
class ClaimOutcome:
    index: int
    code: str | None
    error: TapesiteError | None = None

    @property
    def claimed(self) -> bool:
        return self.error is None


def _refused(code: str, message: str) -> TapesiteError:
    return TapesiteError(code, message, status=409 if code != "claim_unknown" else 404)


@transaction.atomic
def _claim_one(*, user: User, token: str) -> Tape:
    claim = (
        GuestClaim.objects.select_for_update()
        .filter(token_sha256=_digest(token))
        .select_related("tape")
        .first()
    )
    if claim is None:
        raise _refused("claim_unknown", "No tape has this claim token.")
    if claim.claimed_at is not None:
        raise _refused("claim_used", "This tape has already been claimed.")
    tape = Tape.objects.select_for_update().get(pk=claim.tape_id)
    if tape.nuked:
        raise _refused("claim_unknown", "No tape has this claim token.")
    if tape.user_id is not None:
        raise _refused("claim_used", "This tape has already been claimed.")
    if Tape.objects.filter(user=user, slug=tape.slug).exists():
        raise _refused("slug_taken", f"You already have a tape with the slug {tape.slug!r}.")
    now = timezone.now()
    Tape.objects.filter(pk=tape.pk).update(user=user, updated_at=now)
    tape.user = user
    claim.claimed_at = now
    claim.claimed_by = user
    claim.save(update_fields=["claimed_at", "claimed_by"])
    return tape


def tapes_claim(*, user: User, tokens: list[str]) -> list[ClaimOutcome]:
    """Make the tapes these claim tokens stand for the user's, in one transaction, each token on
    its own (one bad token does not stop the others). No file moves here: each claimed tape's
    move to the user's bucket is queued after the commit (``tape_relocation_request``); until
    it is done the tape plays from the guest bucket."""
    if not tokens:
        raise TapesiteError("invalid_input", "Send at least one claim token.")
    if len(tokens) > MAX_TOKENS_PER_CLAIM:
        raise TapesiteError(
            "invalid_input", f"At most {MAX_TOKENS_PER_CLAIM} claim tokens at a time."
        )
    outcomes: list[ClaimOutcome] = []
    claimed: list[Tape] = []
    with transaction.atomic():
        for index, token in enumerate(tokens):
            try:
                tape = _claim_one(user=user, token=token)  # in a savepoint: a refusal undoes it
            except TapesiteError as exc:
                outcomes.append(ClaimOutcome(index=index, code=None, error=exc))
                continue
            tape_relocation_request(tape=tape)
            claimed.append(tape)
            outcomes.append(ClaimOutcome(index=index, code=tape.code))
        for tape in claimed:
            # The apps that react (federation: a linked owner's ready tape gets its record; one
            # still encoding gets it from tape_ready instead).
            events.send_after_commit(events.tape_claimed, tape=tape, user=user)
    if claimed:
        logger.info("user %s claimed %d guest tapes", user.pk, len(claimed))
    return outcomes
