"""What the tapes API's views share."""

from __future__ import annotations

from rest_framework.request import Request

from accounts.models import User
from tapesite.errors import TapesiteError

# Guests prove they posted a tape with its claim token in this header (tapes.services.claims).
CLAIM_TOKEN_HEADER = "X-Claim-Token"


def signed_in_or_guest(request: Request) -> User | None:
    """The signed-in user, or None for a guest."""
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def tape_not_found(code: str) -> TapesiteError:
    return TapesiteError("not_found", f"No tape has the code {code!r}.", status=404)


def claim_token(request: Request) -> str:
    return str(request.headers.get(CLAIM_TOKEN_HEADER, "")).strip()
