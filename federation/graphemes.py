"""Counting user-perceived characters (extended grapheme clusters), for lexicon ``maxGraphemes``.

The reference validator counts with ICU (``Intl.Segmenter``); Python's standard library has no
segmenter and the project adds no dependency for it. This follows the rules of Unicode UAX #29
that matter for text people type: CR LF, Hangul syllables, combining and spacing marks, variation
selectors, emoji modifiers, ZWJ emoji sequences, tag sequences and flag pairs. Where it is unsure
it breaks, so it may count more graphemes than ICU (and refuse a borderline text), never fewer:
a record it accepts is one the reference accepts. ``clip`` cuts a text at a cluster boundary.
Pure: no Django.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

_ZWJ = 0x200D


def _is_regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _is_extend(cp: int, category: str) -> bool:
    return (
        category in ("Mn", "Me")
        or cp == 0x200C  # ZWNJ
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin tones
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences
        or cp in (0xFF9E, 0xFF9F)  # half-width katakana sound marks
    )


def _is_control(cp: int, category: str) -> bool:
    return category in ("Cc", "Zl", "Zp") or (
        category == "Cf" and cp not in (_ZWJ, 0x200C) and not 0xE0020 <= cp <= 0xE007F
    )


def _is_pictographic(cp: int) -> bool:
    # Extended_Pictographic, by its blocks (close enough for emoji ZWJ sequences).
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2300 <= cp <= 0x23FF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D)
    )


def _hangul(cp: int) -> str:
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return ""


def _joins(prev: str, char: str, state: dict[str, int | bool]) -> bool:
    """Whether there is no cluster break between ``prev`` and ``char``."""
    a, b = ord(prev), ord(char)
    if a == 0x0D and b == 0x0A:
        return True
    cat_a, cat_b = unicodedata.category(prev), unicodedata.category(char)
    if _is_control(a, cat_a) or _is_control(b, cat_b) or a in (0x0A, 0x0D):
        return False
    ha, hb = _hangul(a), _hangul(b)
    if ha == "L" and hb in ("L", "V", "LV", "LVT"):
        return True
    if ha in ("LV", "V") and hb in ("V", "T"):
        return True
    if ha in ("LVT", "T") and hb == "T":
        return True
    if _is_extend(b, cat_b) or b == _ZWJ or cat_b == "Mc":
        return True
    if a == _ZWJ and state["pictographic"] and _is_pictographic(b):
        return True
    return _is_regional(a) and _is_regional(b) and int(state["regional"]) % 2 == 1


def clusters(text: str) -> Iterator[str]:
    """The extended grapheme clusters of ``text``, in order."""
    if not text:
        return
    start = 0
    # Whether the cluster so far began with a pictograph followed only by extenders (GB11), and
    # how many regional indicators run up to here (GB12/13: flags pair up).
    state: dict[str, int | bool] = {
        "pictographic": _is_pictographic(ord(text[0])),
        "regional": 1 if _is_regional(ord(text[0])) else 0,
    }
    for index in range(1, len(text)):
        prev, char = text[index - 1], text[index]
        cp = ord(char)
        if _joins(prev, char, state):
            if not (_is_extend(cp, unicodedata.category(char)) or cp == _ZWJ):
                state["pictographic"] = _is_pictographic(cp) and bool(state["pictographic"])
        else:
            yield text[start:index]
            start = index
            state["pictographic"] = _is_pictographic(cp)
        state["regional"] = int(state["regional"]) + 1 if _is_regional(cp) else 0
    yield text[start:]


def count(text: str) -> int:
    return sum(1 for _ in clusters(text))


def clip(text: str, *, max_graphemes: int, max_bytes: int, ellipsis: str = "…") -> str:
    """``text`` as it is when it fits both limits; else cut at a cluster boundary so that,
    with ``ellipsis`` added, it does."""
    parts = list(clusters(text))
    if len(parts) <= max_graphemes and len(text.encode()) <= max_bytes:
        return text
    room_bytes = max_bytes - len(ellipsis.encode())
    kept: list[str] = []
    used = 0
    for part in parts[: max(max_graphemes - 1, 0)]:
        size = len(part.encode())
        if used + size > room_bytes:
            break
        kept.append(part)
        used += size
    return "".join(kept).rstrip() + ellipsis
