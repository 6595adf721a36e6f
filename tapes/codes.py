"""Short codes and slugs: pure functions, no Django.

Codes are random picks from a weighted alphabet; uniqueness is the database's job (a unique
constraint and a retry), never a look-up before the insert, which would race.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

PIECE_MAX_LENGTH = 32
DEFAULT_PIECE = "tape"
SLUG_RE = re.compile(
    r"^(?P<piece>[a-z0-9](?:[a-z0-9-]{0,31}))-"
    r"(?P<ts>\d{4}\.\d{2}\.\d{2}\.\d{2}\.\d{2}\.\d{2}\.\d{3})$"
)


def random_code(alphabet: str, length: int) -> str:
    # A repeated character in the alphabet string is how the weighting works, so pick from the
    # string itself rather than from its set of distinct characters.
    return "".join(secrets.choice(alphabet) for _ in range(length))


def sanitize_piece(piece: str | None) -> str:
    """Lower-case, ``[a-z0-9-]`` only, no leading/trailing/double dashes, at most 32 chars."""
    text = (piece or "").strip().lower()
    text = re.sub(r"[^a-z0-9-]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-")[:PIECE_MAX_LENGTH].strip("-")
    return text or DEFAULT_PIECE


def format_when(when: datetime) -> str:
    utc = when.astimezone(UTC)
    return utc.strftime("%Y.%m.%d.%H.%M.%S.") + f"{utc.microsecond // 1000:03d}"


def make_slug(piece: str | None, when: datetime) -> str:
    return f"{sanitize_piece(piece)}-{format_when(when)}"


def parse_slug(slug: str) -> tuple[str, datetime] | None:
    """The piece and the UTC moment a slug names, or None when it is not a well-formed slug."""
    match = SLUG_RE.match(slug)
    if match is None:
        return None
    try:
        when = datetime.strptime(match["ts"], "%Y.%m.%d.%H.%M.%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None
    return match["piece"], when
