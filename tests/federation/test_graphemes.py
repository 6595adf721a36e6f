"""Our grapheme count (federation/graphemes.py) against ICU's (Node's Intl.Segmenter, which the
reference lexicon validator uses): equal on text people type, never lower anywhere."""

from __future__ import annotations

import json
import subprocess

from federation import graphemes
from tests.support.pds import node_binary

SAMPLES = [
    "hello",
    "e\u0301",
    "ë́z",
    "👨‍👩‍👧‍👦",
    "🇫🇷🇩🇪🇮",
    "👍🏽x",
    "👩🏽‍🚀",
    "🧑‍💻 code",
    "❤️",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "a\u200db",
    "x\u200c y",
    "\r\n\n",
    "한국어",
    "\u1100\u1161\u11a8",
    "ก่",
    "日本語のテキスト",
]
# Where ICU joins more than we do (Indic conjuncts, Thai SARA AM): we count more, never fewer.
OVERCOUNTED = ["क्षि", "\u0e01\u0e33"]

ICU = """
const seg = new Intl.Segmenter()
for (const s of JSON.parse(require('fs').readFileSync(0, 'utf8'))) {
  let n = 0; for (const _ of seg.segment(s)) n++; console.log(n)
}
"""


def icu_counts(samples: list[str]) -> list[int]:
    done = subprocess.run(
        [node_binary(), "-e", ICU],
        input=json.dumps(samples),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [int(line) for line in done.stdout.split()]


def test_counts_match_icu_on_typed_text_and_never_undercount() -> None:
    assert [graphemes.count(s) for s in SAMPLES] == icu_counts(SAMPLES)
    for sample, icu in zip(OVERCOUNTED, icu_counts(OVERCOUNTED), strict=True):
        assert graphemes.count(sample) >= icu


def test_clip_keeps_whole_clusters_within_both_limits() -> None:
    assert graphemes.clip("short", max_graphemes=100, max_bytes=300) == "short"
    clipped = graphemes.clip("👨‍👩‍👧‍👦" * 20, max_graphemes=100, max_bytes=300)
    assert clipped.endswith("…") and len(clipped.encode()) <= 300
    assert clipped.removesuffix("…") == "👨‍👩‍👧‍👦" * 11
    assert graphemes.count(graphemes.clip("x" * 150, max_graphemes=100, max_bytes=300)) == 100
