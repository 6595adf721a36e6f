"""inspect_archive as a whole: the corpus of bad archives (every code), a good tape described,
and fuzzing (whatever the bytes, the answer is a TapeInfo or an ArchiveError)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapes.archive import (
    CODES,
    ArchiveError,
    ArchiveLimits,
    inspect_archive,
)
from tests.support.synth import SynthTape, frame_name, timing_document, write_zip
from tests.tapes.archive import badzips
from tests.tapes.archive.badzips import CASES, Case, raw_tape, tape_entries, write_raw_zip
from tests.tapes.archive.helpers import read_all


@pytest.mark.parametrize("case", CASES, ids=[f"{c.code}-{c.id}" for c in CASES])
def test_bad_archive_is_rejected_with_its_code(case: Case, tmp_path: Path) -> None:
    path = case.build(tmp_path)
    limits = ArchiveLimits(**case.limits)
    with pytest.raises(ArchiveError) as caught:
        info = inspect_archive(path, limits)
        assert case.stage == "iter", "inspect_archive accepted a bad archive"
        read_all(path, info)
    error = caught.value
    assert error.code == case.code, error.message
    assert error.retryable is False
    assert error.message
    json.dumps(error.details)  # JSON-ready, for the tape's failure and the API


def test_every_code_is_provoked_by_the_corpus() -> None:
    assert {c.code for c in CASES} == set(CODES)


def test_codes_are_in_the_format_doc() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "tape-format.md").read_text()
    missing = [code for code in CODES if f"`{code}`" not in doc]
    assert not missing


def test_good_tape_is_described(small_tape: SynthTape) -> None:
    info = inspect_archive(small_tape.path)
    assert info.piece == "synth"
    assert info.frames == 12
    assert info.frame_names == tuple(frame_name(i) for i in range(12))
    assert info.durations_ms == small_tape.durations_ms
    assert info.total_duration_ms == pytest.approx(sum(small_tape.durations_ms))
    assert (info.stored_width, info.stored_height, info.scale) == (120, 72, 3)
    assert (info.width, info.height) == (40, 24)
    assert info.has_alpha is False
    assert info.fps == 60
    assert info.created == "2025-10-17T12:30:00.000Z"
    assert info.discrepancies == ()
    assert info.ignored_entries == ()
    assert info.metadata_shape == "canonical"
    assert info.metadata == small_tape.metadata
    json.dumps(info.as_dict())


@pytest.fixture(scope="module")
def seed_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in tape_entries(2, width=4, height=4, scale=2):
            zf.writestr(name, data)
    return buffer.getvalue()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mutated_archives_never_crash(
    data: st.DataObject, seed_archive: bytes, tmp_path: Path
) -> None:
    blob = bytearray(seed_archive)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    path = tmp_path / "fuzz.zip"
    path.write_bytes(bytes(blob))
    try:
        info = inspect_archive(path)
        read_all(path, info)
    except ArchiveError as exc:
        assert exc.code in CODES


def test_messages_and_details_stay_short(tmp_path: Path) -> None:
    rows = timing_document([16.7] * 3)
    rows[1]["filename"] = "x" * 100_000
    entries = badzips.replace(tape_entries(), "timing.json", json.dumps(rows).encode())
    with pytest.raises(ArchiveError) as caught:
        inspect_archive(write_zip(tmp_path / "tape.zip", entries))
    assert caught.value.code == "validation_timing_mismatch"
    assert len(caught.value.message) <= 500
    assert len(json.dumps(caught.value.details)) < 2000


def test_missing_file_and_directory_are_not_zips(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.zip", tmp_path):
        with pytest.raises(ArchiveError) as caught:
            inspect_archive(path)
        assert caught.value.code == "validation_not_zip"


def test_raw_zip_builder_round_trips(tmp_path: Path) -> None:
    path = write_raw_zip(tmp_path / "tape.zip", raw_tape())
    assert inspect_archive(path).frames == 3
