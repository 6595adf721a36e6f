"""Which entries count: ignored extras, any order, stored or deflated."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tapes.archive import (
    inspect_archive,
)
from tests.support.synth import frame_name, write_zip
from tests.tapes.archive.badzips import tape_entries


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
