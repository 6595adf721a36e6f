"""Encoding, called directly in this process: the hand-off to the queue, the encode of a good and
of a bad archive, and the operators' re-encode."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import django_rq
import numpy as np
import pytest

from tapes import services
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tapes.storage import storage_for
from tests.support import synth
from tests.tapes.factories import TapeUploadFactory, post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tape_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "t.zip"
    synth.make_tape(path, frames=6, width=32, height=24, scale=2, seed=3)
    return path.read_bytes()


def test_enqueue_marks_the_tape_queued_once(tape_bytes: bytes) -> None:
    tape = post(TapeUploadFactory.create(content=tape_bytes))  # posting enqueues after commit
    queue = django_rq.get_queue(ENCODE.queue)
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]
    assert services.tape_enqueue_encode(tape_id=tape.pk) is True
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]  # the live job is not doubled
    assert Tape.objects.get(pk=tape.pk).status == TapeStatus.QUEUED


def test_enqueue_with_the_queue_down_leaves_the_tape_uploaded(
    tape_bytes: bytes, private_redis: Any
) -> None:
    private_redis.stop()
    tape = post(TapeUploadFactory.create(content=tape_bytes))
    assert services.tape_enqueue_encode(tape_id=tape.pk) is False
    assert Tape.objects.get(pk=tape.pk).status == TapeStatus.UPLOADED


def test_encode_writes_the_outputs_beside_the_zip(tape_bytes: bytes) -> None:
    tape = post(TapeUploadFactory.create(content=tape_bytes))
    progress: list[float] = []
    done = services.tape_encode(tape_id=tape.pk, on_progress=progress.append)
    assert done is not None
    assert (done.status, done.progress, done.attempts) == (TapeStatus.READY, 100, 1)
    assert (done.frames, done.width, done.height, done.scale) == (6, 32, 24, 2)
    storage = storage_for(done.bucket)
    for key in (done.mp4_key, done.thumbnail_key, done.preview_key, done.gif_key):
        assert key.startswith(done.zip_key.removesuffix(".zip"))
        assert storage.exists(key)
    assert done.gif_key == done.zip_key.removesuffix(".zip") + ".gif" and done.gif_bytes
    assert progress and progress[-1] == 1.0


def test_progress_is_written_at_most_twice_a_second(tape_bytes: bytes) -> None:
    # What a polling page sees, read from the row while the encode reports; a report every
    # 0.2 s gets a write only every 0.5 s or more (PROGRESS_EVERY_SECONDS).
    tape = post(TapeUploadFactory.create(content=tape_bytes))
    seen: list[tuple[float, int]] = []

    def slow(fraction: float) -> None:
        seen.append((time.monotonic(), Tape.objects.get(pk=tape.pk).progress))
        time.sleep(0.2)

    done = services.tape_encode(tape_id=tape.pk, on_progress=slow)
    assert done is not None and done.status == TapeStatus.READY
    values = [value for _, value in seen]
    assert values == sorted(values) and values[0] == 5 and values[-1] > 5
    changes = [at for (_, before), (at, value) in pairwise(seen) if value != before]
    assert changes and len(changes) <= len(seen) // 2
    gaps = [later - earlier for earlier, later in pairwise(changes)]
    assert all(gap >= services.encoding.PROGRESS_EVERY_SECONDS - 0.05 for gap in gaps)


def test_an_invalid_archive_fails_at_once_with_the_readers_code() -> None:
    tape = post(TapeUploadFactory.create(content=b"PK\x03\x04 but nothing after"))
    done = services.tape_encode(tape_id=tape.pk)  # no RetryLater: the bytes will not change
    assert done is not None
    assert (done.status, done.failure_code, done.attempts) == (
        TapeStatus.FAILED,
        "validation_corrupt",
        1,
    )
    assert done.failure_message


def test_an_operators_reencode_resets_and_queues_a_failed_tape(tape_bytes: bytes) -> None:
    tape = post(TapeUploadFactory.create(content=tape_bytes))
    queue = django_rq.get_queue(ENCODE.queue)
    queue.empty()
    Tape.objects.filter(pk=tape.pk).update(
        status=TapeStatus.FAILED, failure_code="zip_missing", attempts=3
    )
    tape = services.tape_reencode(tape=tape, actor=None)  # transactional: enqueued at commit
    assert (tape.status, tape.failure_code, tape.attempts) == (TapeStatus.QUEUED, "", 0)
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]


def test_a_held_moment_is_one_frame_of_the_video_shown_as_long(tmp_path: Path) -> None:
    import av

    pictures = [0, 0, 0, 1, 2, 2, 2, 2, 3]
    durations = [40.0] * len(pictures)
    frames = synth.make_held_tape(tmp_path / "held.zip", pictures, durations)
    tape = post(TapeUploadFactory.create(content=(tmp_path / "held.zip").read_bytes()))
    done = services.tape_encode(tape_id=tape.pk)
    assert done is not None and done.status == TapeStatus.READY
    # The tape keeps its own timing: every frame, as recorded.
    assert (done.frames, done.frame_ms) == (9, [40] * 9)
    video = tmp_path / "out.mp4"
    video.write_bytes(storage_for(done.bucket).open(done.mp4_key, "rb").read())
    with av.open(str(video)) as container:
        shown = [
            (round(frame.time * 1000), frame.to_ndarray(format="rgb24"))
            for frame in container.decode(video=0)
        ]
    # Four pictures, each one frame of the video, lasting as long as its repeats did ...
    assert [pts for pts, _ in shown] == [0, 120, 160, 320]
    # ... and at every recorded frame's moment, that frame's picture (upscaled, near-lossless).
    starts = [0, 120, 160, 320]
    for index, picture in enumerate(frames):
        moment = index * 40 + 20
        _, image = shown[max(i for i, start in enumerate(starts) if start <= moment)]
        factor = image.shape[0] // picture.shape[0]
        expected = picture.repeat(factor, axis=0).repeat(factor, axis=1)
        assert image.shape == expected.shape
        assert np.abs(image.astype(int) - expected.astype(int)).mean() < 2
