"""What bench/encode.py runs on each tape: the variants compared, the speed ablations and their
encoder settings, and the label each goes by in the report."""

from __future__ import annotations

from typing import Any

VARIANTS = ("a", "b", "c", "c-mp4", "decode")
ABLATIONS = ("old", "inline", "cabac", "4x")
LABELS = {
    "a": "(a) original plan, ffmpeg concat",
    "b": "(b) frame-exact ffmpeg concat",
    "c": "(c) ours: MP4 + thumbnail + preview + GIF",
    "c-mp4": "(c) ours, MP4 only",
    "decode": "PNG decode only (iter_frames)",
    "old": "MP4 only, previous settings",
    "inline": "MP4 only, swscale inline",
    "cabac": "MP4 only, CABAC always",
    "4x": "MP4 only, 4x video (1024x1024)",
}
#: EncodeSettings overrides of the ablations (all MP4 only).
ABLATION_SETTINGS: dict[str, dict[str, Any]] = {
    "old": {
        "preset": "superfast",
        "x264_params": "mbtree=1:rc-lookahead=10:aq-mode=0:subme=0:no-deblock=1",
        "crf": 23,
        "crf_crisp": 23,
        "convert_ahead": 0,
        "max_long_side": 1080,
    },
    "inline": {"convert_ahead": 0},
    "cabac": {"cavlc_share": 0},
    "4x": {"max_long_side": 1080},
}
