"""The embed's arithmetic and the oEmbed shapes (web.oembed): pure, no site."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from web.oembed import BAR_PX, EmbedSize, code_from_tape_url, embed_size, oembed_xml

HOSTS = {"tapes.example", "localhost:8000"}


@pytest.mark.parametrize(
    ("art", "limits", "want"),
    [
        ((256, 192), {}, EmbedSize(512, 384 + BAR_PX, 2.0)),
        ((32, 24), {}, EmbedSize(640, 480 + BAR_PX, 20.0)),
        ((640, 480), {}, EmbedSize(640, 480 + BAR_PX, 1.0)),
        ((1000, 10), {}, EmbedSize(640, 6 + BAR_PX, 0.64)),
        ((256, 192), {"maxwidth": 767}, EmbedSize(512, 384 + BAR_PX, 2.0)),
        ((256, 192), {"maxheight": 192 + BAR_PX}, EmbedSize(256, 192 + BAR_PX, 1.0)),
        ((256, 192), {"maxheight": 191 + BAR_PX}, EmbedSize(254, 191 + BAR_PX, 191 / 192)),
    ],
)
def test_the_largest_whole_scale_that_fits(
    art: tuple[int, int], limits: dict[str, int], want: EmbedSize
) -> None:
    got = embed_size(*art, **limits)
    assert got is not None
    assert (got.width, got.height) == (want.width, want.height)
    assert got.scale == pytest.approx(want.scale)


@pytest.mark.parametrize("limits", [{"maxheight": BAR_PX}, {"maxwidth": 0}, {"maxheight": 1}])
def test_no_room_for_a_picture_is_no_size(limits: dict[str, int]) -> None:
    assert embed_size(256, 192, **limits) is None


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://tapes.example/t/aB3", "aB3"),
        ("http://TAPES.example/t/aB3/", "aB3"),
        ("https://tapes.example/!aB3", "aB3"),
        ("https://tapes.example/%23aB3", "aB3"),
        ("  http://localhost:8000/t/x9?ref=feed  ", "x9"),
        ("https://tapes.example:444/t/aB3", None),
        ("https://localhost/t/aB3", None),
        ("https://tapes.example.evil/t/aB3", None),
        ("https://me@tapes.example/t/aB3", None),
        ("javascript://tapes.example/t/aB3", None),
        ("https://tapes.example/t/aB3/embed", None),
        ("https://tapes.example/t/a-b", None),
        ("https://tapes.example/", None),
        ("https://[::1/t/x", None),
        ("", None),
    ],
)
def test_a_tape_link_of_this_site_and_nothing_else(url: str, code: str | None) -> None:
    assert code_from_tape_url(url, hosts=HOSTS) == code


def test_the_xml_answer_escapes_what_it_carries() -> None:
    text = oembed_xml({"type": "video", "html": '<iframe src="x?a=1&b=2"></iframe>', "width": 5})
    root = ET.fromstring(text)
    assert [child.tag for child in root] == ["type", "html", "width"]
    assert root.findtext("html") == '<iframe src="x?a=1&b=2"></iframe>'
    assert root.findtext("width") == "5"
