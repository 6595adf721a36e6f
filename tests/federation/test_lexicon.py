"""Our lexicon validator against the reference one (npm @atproto/lexicon) on the same records."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from federation.lexicon import Lexicon, LexiconError, RecordInvalid
from tests.support.lexicon import LEXICON_PATH, NSID, reference

CID = "bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"


def blob(mime: str = "video/mp4", size: int = 1000, link: Any = CID) -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": link}, "mimeType": mime, "size": size}


VALID: dict[str, Any] = {
    "$type": NSID,
    "slug": "line-2025.10.17.12.30.00.123",
    "code": "bcd",
    "when": "2025-10-17T12:30:00.123Z",
    "video": blob(),
    "ref": "42",
    "thumbnail": blob("image/webp", 2000),
    "aspectRatio": {"width": 128, "height": 72},
    "durationMs": 4000,
    "frames": 48,
    "piece": "line",
    "url": "https://tapes.example/!bcd",
}


def changed(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return record


# (label, record, valid?) -- the reference and ours must both give the expected answer.
CASES: list[tuple[str, Any, bool]] = [
    ("full record", VALID, True),
    (
        "required only",
        {k: VALID[k] for k in ("$type", "slug", "code", "when", "video", "ref")},
        True,
    ),
    ("type with #main", changed(**{"$type": f"{NSID}#main"}), False),
    ("extra property is allowed", changed(mood="sunny"), True),
    ("datetime with offset", changed(when="2025-10-17T12:30:00+02:00"), True),
    ("datetime without fraction", changed(when="2025-10-17T12:30:00Z"), True),
    ("code at max length", changed(code="b" * 10), True),
    ("zero duration", changed(durationMs=0), True),
    ("uri with another scheme", changed(url="at://did:plc:abc/computer.aesthetic.tape/x"), True),
    ("legacy blob form", changed(video={"cid": CID, "mimeType": "video/mp4"}), True),
    ("not an object", ["nope"], False),
    ("missing $type", changed(**{"$type": ...}), False),
    ("other $type", changed(**{"$type": "app.bsky.feed.post"}), False),
    ("$type not a string", changed(**{"$type": 7}), False),
    ("missing slug", changed(slug=...), False),
    ("missing code", changed(code=...), False),
    ("missing when", changed(when=...), False),
    ("missing video", changed(video=...), False),
    ("missing ref", changed(ref=...), False),
    ("code too long", changed(code="b" * 11), False),
    ("code too long in UTF-8 bytes", changed(code="é" * 6), False),
    ("slug not a string", changed(slug=12), False),
    ("when not a datetime", changed(when="yesterday"), False),
    ("when a date only", changed(when="2025-10-17"), False),
    ("video not a blob", changed(video="https://x/y.mp4"), False),
    ("video blob without ref", changed(video={"$type": "blob", "mimeType": "video/mp4"}), False),
    ("video blob with a bad cid", changed(video=blob(link="not-a-cid")), False),
    ("thumbnail not a blob", changed(thumbnail={"url": "x"}), False),
    ("aspect ratio missing height", changed(aspectRatio={"width": 3}), False),
    ("aspect ratio zero width", changed(aspectRatio={"width": 0, "height": 2}), False),
    ("aspect ratio not an object", changed(aspectRatio=[16, 9]), False),
    (
        "provenance",
        changed(
            provenance={
                "site": "Pieces",
                "origin": "https://pieces.example",
                "pieceUrl": "https://pieces.example/line?x=1",
                "source": "a line, drawn slowly",
                "seed": "42",
            }
        ),
        True,
    ),
    ("provenance with the seed only", changed(provenance={"seed": "7"}), True),
    ("provenance not an object", changed(provenance="pieces.example"), False),
    ("provenance piece url not a uri", changed(provenance={"pieceUrl": "not a uri"}), False),
    ("provenance source too long", changed(provenance={"source": "s" * 501}), False),
    ("provenance seed too long", changed(provenance={"seed": "1" * 201}), False),
    ("negative duration", changed(durationMs=-1), False),
    ("fractional frames", changed(frames=2.5), False),
    ("frames as a string", changed(frames="48"), False),
    ("frames as a boolean", changed(frames=True), False),
    ("zero frames", changed(frames=0), False),
    ("piece too long", changed(piece="p" * 65), False),
    ("url not a uri", changed(url="not a uri"), False),
    ("url with no scheme", changed(url="/tapes/bcd"), False),
    # The owner's words: title (300 bytes, 100 graphemes), description and alt (3000, 1000).
    ("title, description and alt", changed(title="Dusk", description="a\n\nb", alt="A line"), True),
    ("title of 100 graphemes", changed(title="t" * 100), True),
    ("title of 101 graphemes", changed(title="t" * 101), False),
    ("title of 100 accented graphemes (300 bytes)", changed(title="e\u0301" * 100), True),
    ("title of 101 accented graphemes", changed(title="e\u0301" * 101), False),
    ("title of 37 flags (296 bytes)", changed(title="🇫🇷" * 37), True),
    ("title of 76 emoji (304 bytes)", changed(title="😀" * 76), False),
    ("title of 12 family emoji (300 bytes)", changed(title="👨‍👩‍👧‍👦" * 12), True),
    ("title of 13 family emoji (325 bytes)", changed(title="👨‍👩‍👧‍👦" * 13), False),
    ("title not a string", changed(title=3), False),
    ("description of 1000 graphemes", changed(description="d" * 1000), True),
    ("description of 1001 graphemes", changed(description="d" * 1001), False),
    ("alt of 1000 graphemes", changed(alt="a" * 1000), True),
    ("alt of 1001 graphemes", changed(alt="a" * 1001), False),
    ("alt over 3000 bytes", changed(alt="é" * 999 + "ab" * 501), False),
]

# Where ours is deliberately stricter than the reference (see federation/lexicon.py).
STRICTER: list[tuple[str, dict[str, Any]]] = [
    ("datetime without timezone", changed(when="2025-10-17T12:30:00")),
    ("an impossible date", changed(when="2025-02-30T12:00:00Z")),
    ("integer as a float", changed(frames=3.0)),
]
BLOB_RULES: list[tuple[str, dict[str, Any]]] = [
    ("video of the wrong type", changed(video=blob("image/png"))),
    ("video over 10 MiB", changed(video=blob(size=10485761))),
    ("thumbnail not an image", changed(thumbnail=blob("video/mp4", 10))),
]


def ours(record: Any, *, check_blobs: bool = False) -> bool:
    try:
        Lexicon.load(LEXICON_PATH).validate_record(record, check_blobs=check_blobs)
    except RecordInvalid:
        return False
    return True


def test_ours_and_the_reference_agree_on_every_case() -> None:
    results = reference([record for _, record, _ in CASES])
    assert len(results) == len(CASES)
    disagreements = []
    for (label, record, expected), ref in zip(CASES, results, strict=True):
        mine = ours(record)
        if not (mine == ref["valid"] == expected):
            disagreements.append((label, expected, ref, mine))
    assert disagreements == []


def test_where_ours_is_stricter_the_reference_accepts_and_ours_refuses() -> None:
    records = [r for _, r in STRICTER] + [r for _, r in BLOB_RULES]
    results = reference(records)
    assert all(ref["valid"] for ref in results), results
    assert [ours(r) for _, r in STRICTER] == [False] * len(STRICTER)
    assert [ours(r, check_blobs=True) for _, r in BLOB_RULES] == [False] * len(BLOB_RULES)
    # Without the blob rules these are valid, as the reference says.
    assert [ours(r) for _, r in BLOB_RULES] == [True] * len(BLOB_RULES)


def test_error_names_the_path_and_has_a_stable_code() -> None:
    with pytest.raises(RecordInvalid) as caught:
        Lexicon.load(LEXICON_PATH).validate_record(changed(aspectRatio={"width": 0, "height": 1}))
    assert caught.value.code == "record_invalid"
    assert caught.value.path == "Record/aspectRatio/width"
    assert "less than 1" in caught.value.message


def test_original_required_fields_are_kept() -> None:
    doc = json.loads(LEXICON_PATH.read_text())
    main = doc["defs"]["main"]
    assert main["key"] == "tid"
    assert main["record"]["required"] == ["slug", "code", "when", "video", "ref"]
    video = main["record"]["properties"]["video"]
    assert (video["accept"], video["maxSize"]) == (["video/mp4"], 10485760)


@pytest.mark.parametrize(
    "doc",
    [
        {"lexicon": 2, "id": NSID, "defs": {}},
        {"lexicon": 1, "id": NSID, "defs": {"main": {"type": "query"}}},
        {
            "lexicon": 1,
            "id": NSID,
            "defs": {
                "main": {
                    "type": "record",
                    "record": {
                        "type": "object",
                        "properties": {"x": {"type": "string", "maxSize": 3}},
                    },
                }
            },
        },
    ],
)
def test_a_lexicon_using_what_we_do_not_implement_is_refused(doc: dict[str, Any]) -> None:
    with pytest.raises(LexiconError):
        Lexicon(doc)


def test_lexicon_path_exists() -> None:
    assert Path(LEXICON_PATH).exists()
