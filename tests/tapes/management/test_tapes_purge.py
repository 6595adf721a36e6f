"""manage.py tapes_purge: only tapes nuked long enough ago lose their files; rows stay."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from audit.selectors import audit_entries_for
from tapes.files import tape_stored_files as tape_keys
from tapes.models import Tape
from tapes.storage import storage_for
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


def stored(**kwargs: Any) -> Tape:
    """A tape whose four files really are in storage."""
    tape: Tape = ReadyTapeFactory.create(**kwargs)
    storage = storage_for(tape.bucket)
    for _, key in tape_keys(tape):
        storage.save(key, ContentFile(b"x" * 10))
    return tape


def exists(tape: Tape) -> list[bool]:
    storage = storage_for(tape.bucket)
    return [storage.exists(key) for _, key in tape_keys(tape)]


def purge(*args: str) -> str:
    out = io.StringIO()
    call_command("tapes_purge", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_purge_touches_only_tapes_nuked_long_enough_ago(user: Any) -> None:
    old = stored(nuke=31, user=user)
    recent = stored(nuke=29)
    visible = stored()
    out = purge("--older-than", "30")
    assert exists(old) == [False] * 4
    assert exists(recent) == [True] * 4
    assert exists(visible) == [True] * 4
    old.refresh_from_db()
    assert old.files_purged_at is not None and old.nuked
    assert Tape.objects.count() == 3  # rows are never deleted
    assert f"!{old.code}" in out and f"!{recent.code}" not in out
    for _, key in tape_keys(old):
        assert key in out
    assert "1 tapes, 4 files, 3700 bytes removed" in out
    entry = audit_entries_for(target=old).get()
    assert entry.action == "tape_purge" and entry.actor is None
    assert sorted(entry.details["removed"]) == sorted(key for _, key in tape_keys(old))


def test_a_second_run_removes_nothing_more() -> None:
    stored(nuke=10)
    purge("--older-than", "7")
    assert "0 tapes, 0 files, 0 bytes removed" in purge("--older-than", "7")


def test_dry_run_removes_nothing() -> None:
    tape = stored(nuke=10)
    out = purge("--older-than", "7", "--dry-run")
    assert "would remove 4 files" in out
    assert exists(tape) == [True] * 4
    assert Tape.objects.get(pk=tape.pk).files_purged_at is None
    assert not audit_entries_for(target=tape).exists()


def test_files_already_gone_are_reported_not_fatal() -> None:
    tape = stored(nuke=10)
    storage_for(tape.bucket).delete(tape.mp4_key)
    out = purge("--older-than", "7")
    assert f"{tape.mp4_key} (already gone)" in out
    assert Tape.objects.get(pk=tape.pk).files_purged_at is not None


def test_a_storage_failure_keeps_the_tape_for_the_next_run(local_storage: Path) -> None:
    broken = stored(nuke=10)
    fine = stored(nuke=10)
    # A folder where the MP4 file should be: deleting it fails, as a refusing storage would.
    mp4 = local_storage / broken.bucket / broken.mp4_key
    mp4.unlink()
    mp4.mkdir()
    (mp4 / "inside").write_text("x")
    with pytest.raises(CommandError, match="1 tapes could not be purged"):
        purge("--older-than", "7")
    assert Tape.objects.get(pk=broken.pk).files_purged_at is None
    assert Tape.objects.get(pk=fine.pk).files_purged_at is not None


def test_negative_days_are_refused() -> None:
    with pytest.raises(CommandError):
        purge("--older-than", "-1")


@pytest.mark.s3
def test_purge_on_s3(s3_storage: Any) -> None:
    tape = stored(nuke=10)
    assert exists(tape) == [True] * 4
    purge("--older-than", "7")
    assert exists(tape) == [False] * 4
