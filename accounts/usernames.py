"""What a username may look like, and a readable one made from an Auth0 nickname.

Pure Python: the services check uniqueness against the database.
"""

from __future__ import annotations

import re
import unicodedata

MIN_LENGTH = 2
MAX_LENGTH = 30
PATTERN = re.compile(rf"^[A-Za-z0-9_-]{{{MIN_LENGTH},{MAX_LENGTH}}}$")
# Names that read as the site's own pages or staff.
RESERVED = frozenset(
    {
        "admin",
        "api",
        "accounts",
        "anonymous",
        "guest",
        "me",
        "media",
        "moderator",
        "root",
        "static",
        "staff",
        "support",
        "system",
        "tapesite",
        "u",
    }
)


def username_problem(value: str) -> str | None:
    """Why ``value`` cannot be a username, or None when it can (uniqueness aside)."""
    if not PATTERN.match(value):
        return (
            f"A username is {MIN_LENGTH} to {MAX_LENGTH} letters, digits, '-' or '_' "
            "(no spaces, no other characters)."
        )
    if value.lower() in RESERVED:
        return f"{value!r} is reserved."
    return None


def username_base(nickname: str, fallback: str = "user") -> str:
    """A valid username made from ``nickname``: accents dropped, anything else turned into
    '-', lower case, cut to leave room for a numeric suffix."""
    ascii_only = unicodedata.normalize("NFKD", nickname).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", ascii_only.lower()).strip("-_")
    cleaned = cleaned[: MAX_LENGTH - 6].strip("-_")
    if len(cleaned) < MIN_LENGTH or cleaned in RESERVED:
        cleaned = f"{cleaned}-{fallback}".strip("-") if cleaned else fallback
    return cleaned


def username_candidates(base: str, *, random_suffixes: list[str]) -> list[str]:
    """``base``, then ``base-2`` ... ``base-9``, then the given random suffixes."""
    numbered = [f"{base}-{n}" for n in range(2, 10)]
    return [base, *numbered, *(f"{base}-{suffix}" for suffix in random_suffixes)]
