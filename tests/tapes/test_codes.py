"""Codes and slugs as pure functions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tapes import codes
from tapesite.settings.base import TAPES_CODE_ALPHABET


def test_alphabet_matches_the_original_plan() -> None:
    counts = Counter(TAPES_CODE_ALPHABET)
    assert counts["b"] == 2 and counts["z"] == 2  # lower-case consonants twice as likely
    assert counts["B"] == 1 and counts["a"] == 2 and counts["A"] == 1 and counts["2"] == 1
    assert "0" not in counts and "1" not in counts
    assert len(counts) == 21 * 2 + 5 * 2 + 8


def test_weighting_shows_in_the_draws() -> None:
    drawn = Counter(codes.random_code(TAPES_CODE_ALPHABET, 20_000))
    # a lower-case consonant is drawn about twice as often as its upper-case twin
    lower = sum(drawn[c] for c in "bcdfghjklmnpqrstvwxyz")
    upper = sum(drawn[c] for c in "BCDFGHJKLMNPQRSTVWXYZ")
    assert 1.7 < lower / upper < 2.3


def test_slug_format() -> None:
    when = datetime(2025, 10, 17, 12, 30, 0, 123456, tzinfo=UTC)
    assert codes.make_slug("line", when) == "line-2025.10.17.12.30.00.123"
    assert codes.make_slug(None, when) == "tape-2025.10.17.12.30.00.123"
    assert codes.make_slug("  Wand / Brush!! ", when) == "wand-brush-2025.10.17.12.30.00.123"


@given(st.text(max_size=200))
def test_sanitized_piece_is_always_safe(piece: str) -> None:
    clean = codes.sanitize_piece(piece)
    assert 1 <= len(clean) <= 32
    assert set(clean) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert not clean.startswith("-") and not clean.endswith("-")


@given(
    st.text(max_size=200),
    st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)),
)
def test_slugs_round_trip(piece: str, when: datetime) -> None:
    slug = codes.make_slug(piece, when)
    parsed = codes.parse_slug(slug)
    assert parsed is not None
    assert parsed[0] == codes.sanitize_piece(piece)
    assert parsed[1] == when.replace(microsecond=when.microsecond // 1000 * 1000)


def test_malformed_slugs_are_refused() -> None:
    for slug in [
        "",
        "line",
        "../x-2025.10.17.12.30.00.123",
        "Line-2025.10.17.12.30.00.123",
        "line-2025.13.17.12.30.00.123",
        "line-2025.10.17.12.30.00.12",
    ]:
        assert codes.parse_slug(slug) is None
