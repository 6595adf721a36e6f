"""Origins spelled as browsers send them (pure: no Django)."""

from __future__ import annotations

import pytest

from sites.origins import OriginInvalid, normalise_origin, origin_or_none


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://pieces.example", "https://pieces.example"),
        ("HTTPS://Pieces.Example/", "https://pieces.example"),
        ("https://pieces.example:443", "https://pieces.example"),
        ("http://pieces.example:80", "http://pieces.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://pieces.example:8443", "https://pieces.example:8443"),
        ("  https://pieces.example  ", "https://pieces.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_origins_are_normalised(given: str, origin: str) -> None:
    assert normalise_origin(given) == origin


@pytest.mark.parametrize(
    "given",
    [
        "",
        "null",
        "pieces.example",
        "ftp://pieces.example",
        "javascript:alert(1)",
        "https://pieces.example/page",
        "https://pieces.example?x=1",
        "https://user:pw@pieces.example",
        "https://pieces.example:99999",
        "https://",
        "https://" + "a" * 200 + ".example",
    ],
)
def test_what_is_not_an_origin_is_refused_with_a_reason(given: str) -> None:
    with pytest.raises(OriginInvalid) as caught:
        normalise_origin(given)
    assert str(caught.value)
    assert origin_or_none(given) is None
