"""The browser's checker (static/tapes/check.js, run under Node) and inspect_archive agree: the
same code for every archive of the refusal corpus, and the same description of good tapes (1x,
6x, legacy metadata, a stamped 6x whose frames win, deflated, alpha, one frame)."""

from __future__ import annotations

import json
import math
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tapes.archive import ArchiveError, ArchiveLimits, inspect_archive
from tests.support.pds import ROOT, node_binary
from tests.support.synth import encode_png, legacy_metadata, make_tape, upscale
from tests.tapes.archive.badzips import CASES

HARNESS = ROOT / "tests/support/check_tape.mjs"
# The original recorder's export: frames at 6x, metadata in the legacy shape.
LEGACY = legacy_metadata(width=24, height=16, stored_scale=6, frames=9, total_ms=150.0)


def run_checker(cases: list[tuple[Path, dict[str, Any]]]) -> list[dict[str, Any]]:
    request = [{"path": str(path), "limits": limits} for path, limits in cases]
    out = subprocess.run(
        [node_binary(), str(HARNESS)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    results: list[dict[str, Any]] = json.loads(out.stdout)
    assert len(results) == len(cases)
    return results


def server_code(path: Path, limits: dict[str, Any]) -> str | None:
    try:
        inspect_archive(path, ArchiveLimits(**limits))
    except ArchiveError as error:
        return error.code
    return None


def test_every_refusal_has_the_servers_code(tmp_path: Path) -> None:
    built = []
    for case in CASES:
        directory = tmp_path / case.id
        directory.mkdir()
        built.append((case.build(directory), case.limits))
    results = run_checker(built)
    disagree = []
    for case, (path, limits), result in zip(CASES, built, results, strict=True):
        expected = server_code(path, limits)
        if case.stage == "inspect":
            assert expected == case.code
        if result.get("code") != expected:
            disagree.append((case.id, expected, result))
    assert not disagree


def _stamped(path: Path) -> Path:
    """A 6x tape with a 1-pixel stamp in its first frame: the frames win, the scale is 1."""
    tape = make_tape(path.parent / "clean.zip", frames=3, width=8, height=8, scale=6)
    with zipfile.ZipFile(tape.path) as source, zipfile.ZipFile(path, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "frame000000.png":
                image = upscale(tape.source(0), 6)
                image[0, 0] = 255 - image[0, 0]
                data = encode_png(image)
            out.writestr(info, data)
    return path


def test_good_tapes_are_described_alike(tmp_path: Path) -> None:
    tapes = [
        make_tape(tmp_path / "one-x.zip", frames=5, width=40, height=30, scale=1).path,
        make_tape(tmp_path / "six-x.zip", frames=12, width=24, height=16, scale=6).path,
        make_tape(
            tmp_path / "legacy.zip",
            frames=9,
            width=24,
            height=16,
            scale=6,
            durations_ms=[16.7] * 9,
            metadata_overrides=LEGACY,
        ).path,
        make_tape(tmp_path / "alpha.zip", frames=3, width=10, height=6, scale=2, alpha=True).path,
        make_tape(tmp_path / "single.zip", frames=1, width=12, height=12, scale=4).path,
        make_tape(
            tmp_path / "claims.zip",
            frames=4,
            width=16,
            height=8,
            scale=2,
            metadata_overrides={"frames": 99, "duration": 5.0},
        ).path,
        _stamped(tmp_path / "stamped.zip"),
    ]
    deflated = tmp_path / "deflated.zip"
    with zipfile.ZipFile(tapes[1]) as source, zipfile.ZipFile(deflated, "w") as out:
        for entry in source.infolist():
            out.writestr(entry.filename, source.read(entry), zipfile.ZIP_DEFLATED)
    tapes.append(deflated)

    results = run_checker([(path, {}) for path in tapes])
    for path, result in zip(tapes, results, strict=True):
        info = inspect_archive(path)
        assert "tape" in result, (path.name, result)
        tape = result["tape"]
        assert tape["frameCount"] == info.frames, path.name
        assert tape["durations"] == list(info.durations_ms), path.name
        assert math.isclose(tape["durationMs"], info.total_duration_ms), path.name
        assert (tape["width"], tape["height"]) == (info.stored_width, info.stored_height)
        assert (tape["baseWidth"], tape["baseHeight"], tape["scale"]) == (
            info.width,
            info.height,
            info.scale,
        ), path.name
        assert tape["discrepancies"] == list(info.discrepancies), path.name
        assert tape["metadataShape"] == info.metadata_shape
        assert tape["metadata"] == info.metadata
        assert tape["piece"] == info.piece
        assert tape["bytes"] == path.stat().st_size
    scales = {
        path.name: result["tape"]["scale"] for path, result in zip(tapes, results, strict=True)
    }
    assert scales["six-x.zip"] == scales["legacy.zip"] == 6
    assert scales["stamped.zip"] == 1


@pytest.mark.parametrize(
    ("limits", "code"),
    [
        ({"max_duration_ms": 50}, "validation_too_long"),
        ({"max_frames": 4}, "validation_too_many_frames"),
        ({"max_base_width": 20}, "validation_dimensions"),
        ({"max_width": 100}, "validation_dimensions"),
        ({"max_frame_duration_ms": 10}, "validation_duration_invalid"),
    ],
)
def test_the_limits_given_are_the_limits_applied(
    tmp_path: Path, limits: dict[str, Any], code: str
) -> None:
    path = make_tape(tmp_path / "tape.zip", frames=5, width=24, height=16, scale=6).path
    assert server_code(path, limits) == code
    assert run_checker([(path, limits)])[0].get("code") == code
