"""The tape archive validator and frame reader (tapes/archive.py). No Django, no services."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tapes import archive
from tapes.archive import (
    CODES,
    ArchiveError,
    ArchiveLimits,
    TapeInfo,
    inspect_archive,
    iter_frames,
)
from tapes.synth import SynthTape, frame_name, json_bytes, timing_document, write_zip
from tests.tapes import badzips
from tests.tapes.badzips import CASES, Case, RawEntry, raw_tape, tape_entries, write_raw_zip

TapeFactory = Callable[..., SynthTape]


def read_all(path: Path, info: TapeInfo, **kwargs: Any) -> list[np.ndarray]:
    return list(iter_frames(path, info, **kwargs))


def assert_frames_match(tape: SynthTape, frames: list[np.ndarray]) -> None:
    assert len(frames) == tape.frames
    for index, frame in enumerate(frames):
        assert frame.dtype == np.uint8
        assert frame.flags["C_CONTIGUOUS"]
        assert frame.shape == (tape.height, tape.width, 3)
        np.testing.assert_array_equal(frame, tape.frame(index), err_msg=f"frame {index}")


# --------------------------------------------------------------------------------------------
# The corpus of bad archives


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
    assert error.status == 400
    assert error.retryable is False
    assert error.message
    json.dumps(error.as_dict())  # details must be JSON-ready for the API


def test_every_code_is_provoked_by_the_corpus() -> None:
    assert {c.code for c in CASES} == set(CODES)


def test_codes_are_in_the_format_doc() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "tape-format.md").read_text()
    missing = [code for code in CODES if f"`{code}`" not in doc]
    assert not missing


# --------------------------------------------------------------------------------------------
# Bombs and lying headers


class OpenCounter:
    """Wraps ZipFile.open to record which entries get decompressed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        original = zipfile.ZipFile.open

        def spy(zf: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
            self.names.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
            return original(zf, name, *args, **kwargs)

        monkeypatch.setattr(zipfile.ZipFile, "open", spy)


def traced_peak(func: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        try:
            result: Any = func()
        except ArchiveError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gigabyte_bomb_is_rejected_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = badzips.gigabyte_bomb(tmp_path)
    with zipfile.ZipFile(path) as zf:
        bomb = zf.getinfo("bomb.bin")
    assert path.stat().st_size < 8 << 20
    assert bomb.file_size >= 3 << 30
    opens = OpenCounter(monkeypatch)

    error, peak = traced_peak(lambda: inspect_archive(path))

    assert isinstance(error, ArchiveError)
    assert error.code == "validation_compression_ratio"
    assert opens.names == []  # nothing was decompressed at all
    assert peak < 4 << 20


def test_the_bomb_really_inflates() -> None:
    # Guards the test above: the bomb's stream is real deflate data of zeros.
    stream = badzips.zeros_bomb(64 << 20)
    inflated = zlib.decompressobj(-15).decompress(stream)
    assert len(inflated) == 64 << 20
    assert not any(inflated)


def test_many_small_entries_adding_up_are_rejected_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = badzips.many_megabytes(tmp_path)
    opens = OpenCounter(monkeypatch)
    with pytest.raises(ArchiveError) as caught:
        inspect_archive(path)
    assert caught.value.code == "validation_uncompressed_too_large"
    assert opens.names == []


def test_lying_header_is_rejected_with_bounded_memory(tmp_path: Path) -> None:
    path = badzips.lying_header_full_crc(tmp_path)  # declares 300 bytes, inflates to 64 MiB

    error, peak = traced_peak(lambda: inspect_archive(path))

    assert isinstance(error, ArchiveError)
    assert error.code == "validation_corrupt"
    assert peak < 4 << 20


def test_lying_header_with_a_matching_prefix_crc_reads_only_the_declared_bytes(
    tmp_path: Path,
) -> None:
    # The CRC covers exactly the declared prefix: the entry is "valid" and the rest never inflates.
    prefix = json_bytes(timing_document([16.7] * 3))
    payload = prefix + b" " * (64 << 20)
    entries = [RawEntry(n, d) for n, d in tape_entries() if n != "timing.json"]
    lying = RawEntry.deflated("timing.json", payload, file_size=len(prefix), crc=zlib.crc32(prefix))
    path = write_raw_zip(tmp_path / "tape.zip", [*entries, lying])

    info, peak = traced_peak(lambda: inspect_archive(path))

    assert isinstance(info, TapeInfo)
    assert info.durations_ms == (16.7, 16.7, 16.7)
    assert peak < 4 << 20


# --------------------------------------------------------------------------------------------
# Good tapes


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


@pytest.mark.parametrize("pattern", ["shapes", "flat", "bars"])
def test_1x_and_6x_tapes_read_back_identically(tape_factory: TapeFactory, pattern: str) -> None:
    kwargs: dict[str, Any] = {"frames": 8, "width": 64, "height": 48, "seed": 3}
    one = tape_factory(scale=1, pattern=pattern, **kwargs)
    six = tape_factory(scale=6, pattern=pattern, **kwargs)
    info_one, info_six = inspect_archive(one.path), inspect_archive(six.path)
    assert (info_one.scale, info_six.scale) == (1, 6)
    assert (info_six.stored_width, info_six.stored_height) == (384, 288)
    frames_one, frames_six = read_all(one.path, info_one), read_all(six.path, info_six)
    assert_frames_match(one, frames_one)
    assert_frames_match(six, frames_six)


@pytest.mark.parametrize("scale", [1, 6])
def test_odd_sized_tape(tape_factory: TapeFactory, scale: int) -> None:
    tape = tape_factory(frames=4, width=255, height=133, scale=scale, seed=5)
    info = inspect_archive(tape.path)
    assert (info.width, info.height, info.scale) == (255, 133, scale)
    assert_frames_match(tape, read_all(tape.path, info))


@pytest.mark.parametrize("scale", [1, 4])
def test_rgba_tape_is_composited_over_black(tape_factory: TapeFactory, scale: int) -> None:
    tape = tape_factory(frames=4, width=64, height=32, scale=scale, alpha=True)
    info = inspect_archive(tape.path)
    assert info.has_alpha is True
    frames = read_all(tape.path, info)
    assert_frames_match(tape, frames)
    source = tape.source(0)
    transparent = source[:, :, 3] == 0
    assert transparent.any()
    assert not frames[0][transparent].any()  # fully transparent pixels are black
    opaque = source[:, :, 3] == 255
    np.testing.assert_array_equal(frames[0][opaque], source[:, :, :3][opaque])


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_thread_counts_agree(small_tape: SynthTape, threads: int) -> None:
    info = inspect_archive(small_tape.path)
    assert_frames_match(small_tape, read_all(small_tape.path, info, threads=threads))


def test_stopping_early_releases_everything(small_tape: SynthTape) -> None:
    info = inspect_archive(small_tape.path)
    frames = iter_frames(small_tape.path, info)
    first = next(frames)
    frames.close()  # must not hang on the frames decoded ahead
    np.testing.assert_array_equal(first, small_tape.frame(0))


def test_pillow_fallback_gives_the_same_frames(
    tape_factory: TapeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "_png_decode", archive._pillow_png_decode)
    for alpha in (False, True):
        tape = tape_factory(frames=3, width=32, height=20, scale=2, alpha=alpha)
        assert_frames_match(tape, read_all(tape.path, inspect_archive(tape.path)))


def test_ignored_entries_are_listed(tmp_path: Path) -> None:
    extras = [("notes.txt", b"hi"), ("__MACOSX/._frame000000.png", b"x"), ("sub/", b"")]
    path = write_zip(tmp_path / "tape.zip", [*tape_entries(), *extras])
    info = inspect_archive(path)
    assert info.ignored_entries == ("notes.txt", "__MACOSX/._frame000000.png", "sub/")
    assert info.frames == 3


def test_zip_entry_order_does_not_matter(tmp_path: Path) -> None:
    entries = tape_entries(4)
    path = write_zip(tmp_path / "tape.zip", list(reversed(entries)))
    info = inspect_archive(path)
    assert info.frame_names == tuple(frame_name(i) for i in range(4))


def test_deflated_tape_is_accepted(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "tape.zip", tape_entries(), compression=zipfile.ZIP_DEFLATED)
    assert inspect_archive(path).frames == 3


def test_integer_durations_and_missing_timestamps(tmp_path: Path) -> None:
    rows = [{"filename": frame_name(i), "duration": 17} for i in range(3)]
    entries = badzips.replace(tape_entries(), "timing.json", json.dumps(rows).encode())
    info = inspect_archive(write_zip(tmp_path / "tape.zip", entries))
    assert info.durations_ms == (17.0, 17.0, 17.0)


def test_utf8_bom_in_json_is_tolerated(tmp_path: Path) -> None:
    timing = b"\xef\xbb\xbf" + json_bytes(timing_document([16.7] * 3))
    entries = badzips.replace(tape_entries(), "timing.json", timing)
    assert inspect_archive(write_zip(tmp_path / "tape.zip", entries)).frames == 3


# --------------------------------------------------------------------------------------------
# Metadata: discrepancies (the frames win) and the legacy shape


def fields_of(info: TapeInfo) -> dict[str, tuple[Any, Any]]:
    return {d["field"]: (d["metadata"], d["actual"]) for d in info.discrepancies}


def test_lying_metadata_is_reported_not_fatal(tape_factory: TapeFactory) -> None:
    resolution = {"width": 999, "height": 72, "originalWidth": 41, "originalHeight": 24, "scale": 3}
    tape = tape_factory(
        frames=6,
        width=40,
        height=24,
        scale=3,
        metadata_overrides={"frames": 600, "duration": 99_999, "resolution": resolution},
    )
    info = inspect_archive(tape.path)
    assert fields_of(info) == {
        "frames": (600, 6),
        "total_duration_ms": (99_999, pytest.approx(info.total_duration_ms)),
        "stored_width": (999, 120),
        "width": (41, 40),
    }
    assert (info.frames, info.width, info.scale) == (6, 40, 3)
    assert_frames_match(tape, read_all(tape.path, info))


def test_small_duration_differences_are_not_discrepancies(tape_factory: TapeFactory) -> None:
    tape = tape_factory(frames=6, width=16, height=16, scale=1, durations_ms=[16.7] * 6)
    info = inspect_archive(tape.path)
    assert info.discrepancies == ()
    other = tape_factory(
        frames=6, width=16, height=16, scale=1, durations_ms=[16.7] * 6,
        metadata_overrides={"duration": 110},
    )  # fmt: skip
    assert inspect_archive(other.path).discrepancies == ()


def test_unverified_scale_falls_back_to_the_largest_verified_factor(
    tape_factory: TapeFactory,
) -> None:
    # Stored at 2x, metadata claims 6x: 6 and 3 fail the block check, 2 passes.
    resolution = {"width": 96, "height": 96, "originalWidth": 16, "originalHeight": 16, "scale": 6}
    tape = tape_factory(
        frames=3, width=48, height=48, scale=2, metadata_overrides={"resolution": resolution}
    )
    info = inspect_archive(tape.path)
    assert (info.scale, info.width, info.height) == (2, 48, 48)
    assert fields_of(info) == {"scale": (6, 2), "width": (16, 48), "height": (16, 48)}
    assert_frames_match(tape, read_all(tape.path, info))


def test_scale_that_does_not_divide_the_frames(tape_factory: TapeFactory) -> None:
    tape = tape_factory(
        frames=2, width=15, height=10, scale=1, metadata_overrides={"resolution": {"scale": 4}}
    )
    info = inspect_archive(tape.path)
    assert info.scale == 1
    assert fields_of(info) == {"scale": (4, 1)}


def test_missing_scale_means_1x(tape_factory: TapeFactory) -> None:
    # Without a claim the reader does not guess: blocky frames stay at their stored size.
    tape = tape_factory(
        frames=2, width=16, height=16, scale=2, metadata_overrides={"resolution": None}
    )
    info = inspect_archive(tape.path)
    assert (info.scale, info.width, info.height) == (1, 32, 32)
    assert info.discrepancies == ()


def test_scale_derived_from_resolution(tape_factory: TapeFactory) -> None:
    resolution = {"width": 64, "height": 48, "originalWidth": 16, "originalHeight": 12}
    tape = tape_factory(
        frames=2, width=16, height=12, scale=4, metadata_overrides={"resolution": resolution}
    )
    assert inspect_archive(tape.path).scale == 4


def legacy_overrides(
    tape_kwargs: dict[str, Any], total: float, scale: int | None
) -> dict[str, Any]:
    width, height, s = tape_kwargs["width"], tape_kwargs["height"], tape_kwargs["scale"]
    overrides: dict[str, Any] = {
        "piece": None,
        "frames": None,
        "duration": None,
        "fps": None,
        "resolution": None,
        "created": None,
        "originalSize": {"width": width, "height": height},
        "scaledSize": {"width": width * s, "height": height * s},
        "frameCount": tape_kwargs["frames"],
        "totalDuration": total,
        "exportedAt": "2025-10-17T12:30:00.123Z",
    }
    if scale is not None:
        overrides["scale"] = scale
    return overrides


@pytest.mark.parametrize("explicit_scale", [True, False])
def test_legacy_metadata_is_accepted(tape_factory: TapeFactory, explicit_scale: bool) -> None:
    kwargs: dict[str, Any] = {"frames": 5, "width": 20, "height": 12, "scale": 6}
    durations = [16.7, 16.6, 16.8, 300.0, 16.7]
    overrides = legacy_overrides(kwargs, sum(durations), 6 if explicit_scale else None)
    tape = tape_factory(durations_ms=durations, metadata_overrides=overrides, **kwargs)
    info = inspect_archive(tape.path)
    assert info.metadata_shape == "legacy"
    assert (info.scale, info.width, info.height) == (6, 20, 12)
    assert info.created == "2025-10-17T12:30:00.123Z"
    assert info.piece is None
    assert info.discrepancies == ()
    assert_frames_match(tape, read_all(tape.path, info))


def test_legacy_metadata_lies_are_reported(tape_factory: TapeFactory) -> None:
    kwargs: dict[str, Any] = {"frames": 3, "width": 8, "height": 8, "scale": 2}
    overrides = legacy_overrides(kwargs, 50.0, 2) | {"frameCount": 30}
    tape = tape_factory(durations_ms=[16.7] * 3, metadata_overrides=overrides, **kwargs)
    assert fields_of(inspect_archive(tape.path)) == {"frames": (30, 3)}


def test_empty_metadata_object_is_accepted(tmp_path: Path) -> None:
    entries = badzips.replace(tape_entries(), "metadata.json", b"{}")
    info = inspect_archive(write_zip(tmp_path / "tape.zip", entries))
    assert (info.piece, info.fps, info.created, info.scale) == (None, None, None, 1)


# --------------------------------------------------------------------------------------------
# PNG flavours: palette, grey, grey+alpha, 1-bit, 16-bit


def pillow_png(image: Image.Image, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def _rgb_source() -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.integers(0, 256, size=(10, 14, 3), dtype=np.uint8)


def _flavours() -> Iterator[tuple[str, bytes, np.ndarray]]:
    rgb = _rgb_source()
    grey = rgb[:, :, 0]
    alpha = rgb[:, :, 1]
    palette = Image.fromarray(rgb).quantize(16)
    yield "palette", pillow_png(palette), np.asarray(palette.convert("RGB"))
    yield "grey", pillow_png(Image.fromarray(grey)), np.repeat(grey[:, :, None], 3, 2)
    grey_alpha = np.dstack([grey, alpha])
    over = ((grey.astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
    yield "grey+alpha", pillow_png(Image.fromarray(grey_alpha, "LA")), np.dstack([over] * 3)
    bits = grey > 127
    yield "1-bit", pillow_png(Image.fromarray(bits)), np.dstack([bits.astype(np.uint8) * 255] * 3)
    deep = rgb.astype(np.uint16) * 257 + 100  # 16-bit samples that do not round trivially
    expected = ((deep.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    yield "rgb16", bytes(imagecodecs.png_encode(deep)), expected
    grey16 = deep[:, :, 0]
    yield "grey16", pillow_png(Image.fromarray(grey16)), np.dstack([expected[:, :, 0]] * 3)


@pytest.mark.parametrize("flavour", list(_flavours()), ids=lambda f: f[0])
def test_png_flavours_become_rgb8(flavour: tuple[str, bytes, np.ndarray], tmp_path: Path) -> None:
    _, png, expected = flavour
    meta = {"piece": "flavour", "resolution": {"scale": 1}}
    entries = [
        (frame_name(0), png),
        ("timing.json", json_bytes(timing_document([16.7]))),
        ("metadata.json", json_bytes(meta)),
    ]
    path = write_zip(tmp_path / "tape.zip", entries)
    info = inspect_archive(path)
    (frame,) = read_all(path, info)
    np.testing.assert_array_equal(frame, expected)


def test_decoded_size_differing_from_the_header_is_rejected(
    small_tape: SynthTape, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = inspect_archive(small_tape.path)
    monkeypatch.setattr(archive, "_png_decode", lambda data: np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(ArchiveError) as caught:
        read_all(small_tape.path, info)
    assert caught.value.code == "validation_frame_size_mismatch"


def test_frame_removed_after_inspection(small_tape: SynthTape, tmp_path: Path) -> None:
    info = inspect_archive(small_tape.path)
    path = write_zip(tmp_path / "other.zip", tape_entries(3, width=40, height=24, scale=3))
    with pytest.raises(ArchiveError) as caught:
        read_all(path, info)
    assert caught.value.code == "validation_corrupt"


# --------------------------------------------------------------------------------------------
# Limits


def test_limits_from_settings() -> None:
    limits = ArchiveLimits.from_settings({"MAX_FRAMES": 10, "max_duration_ms": 5000})
    assert (limits.max_frames, limits.max_duration_ms) == (10, 5000)
    assert ArchiveLimits.from_settings(None) == ArchiveLimits()
    assert ArchiveLimits(**{"max_width": 100}).max_width == 100
    with pytest.raises(ValueError, match="max_framez"):
        ArchiveLimits.from_settings({"max_framez": 1})
    bad_values: list[Any] = [0, -1, float("nan"), True, "10"]
    for bad in bad_values:
        with pytest.raises(ValueError):
            ArchiveLimits(min_frame_duration_ms=bad)


def test_limits_are_inclusive(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "tape.zip", tape_entries(3, durations=[10.0, 20.0, 30.0]))
    limits = ArchiveLimits(
        max_frames=3, max_duration_ms=60, max_frame_duration_ms=30, min_frame_duration_ms=10
    )
    assert inspect_archive(path, limits).total_duration_ms == 60


# --------------------------------------------------------------------------------------------
# Fuzzing: whatever the bytes, the answer is a TapeInfo or an ArchiveError


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
    assert len(json.dumps(caught.value.as_dict())) < 2000


def test_missing_file_and_directory_are_not_zips(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.zip", tmp_path):
        with pytest.raises(ArchiveError) as caught:
            inspect_archive(path)
        assert caught.value.code == "validation_not_zip"


def test_raw_zip_builder_round_trips(tmp_path: Path) -> None:
    path = write_raw_zip(tmp_path / "tape.zip", raw_tape())
    assert inspect_archive(path).frames == 3
