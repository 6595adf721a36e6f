"""When posts are queued, found again and withdrawn (bluesky/services/lifecycle.py, the
reactions and the job): reconcile of stuck posts, the job's retry scheduling, and a deleted
user's posts going with their tapes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.utils import timezone
from rq.registry import ScheduledJobRegistry

from accounts.services import user_delete
from bluesky.jobs import post_tape
from bluesky.models import BlueskyPost, BlueskyPostState
from bluesky.queueing import POST
from bluesky.records import COLLECTION
from bluesky.services import (
    bluesky_post_request,
    bluesky_post_run,
    bluesky_posts_reconcile,
)
from tapes.models import Tape
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def test_asking_queues_the_job_on_the_bluesky_queue(
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    django_capture_on_commit_callbacks: Any,
) -> None:
    link(user)
    tape = ready_tape(user)
    with django_capture_on_commit_callbacks(execute=True):
        bluesky_post_request(tape=tape, actor=user)
    assert django_rq.get_queue("bluesky").job_ids == [f"tape-bluesky-{tape.pk}"]


def test_reconcile_requeues_a_stuck_post_then_fails_it_as_bluesky_stuck(
    user: Any, link: Any, ready_tape: Callable[..., Tape], settings: Any
) -> None:
    settings.ATPROTO_STUCK_AFTER_SECONDS = 60
    settings.ATPROTO_STUCK_MAX_REQUEUES = 1
    link(user)
    tape = ready_tape(user)
    bluesky_post_request(tape=tape, actor=user)
    queue = django_rq.get_queue(POST.queue)
    queue.empty()
    long_ago = timezone.now() - timedelta(hours=1)
    BlueskyPost.objects.filter(tape=tape).update(updated_at=long_ago)
    assert bluesky_posts_reconcile().requeued == [tape.pk]
    assert f"tape-bluesky-{tape.pk}" in queue.job_ids
    # Nothing again until it has been stuck for another period.
    assert bluesky_posts_reconcile().requeued == []

    queue.empty()
    BlueskyPost.objects.filter(tape=tape).update(updated_at=long_ago, requeue_after=None)
    assert bluesky_posts_reconcile().gave_up == [tape.pk]
    post = BlueskyPost.objects.get(tape=tape)
    assert (post.state, post.code) == (BlueskyPostState.FAILED, "bluesky_stuck")


def test_the_job_schedules_its_retry_when_the_pds_is_down(
    user: Any, link: Any, ready_tape: Callable[..., Tape], settings: Any
) -> None:
    account, _remote = link(user)
    tape = ready_tape(user)
    bluesky_post_request(tape=tape, actor=user)
    type(account).objects.filter(pk=account.pk).update(pds_url="http://127.0.0.1:9")
    assert post_tape(tape.pk) == "pending pds_unreachable"
    scheduled = ScheduledJobRegistry(queue=django_rq.get_queue(POST.queue)).get_job_ids()
    assert [job_id.split("-at-")[0] for job_id in scheduled] == [f"tape-bluesky-{tape.pk}"]


def test_deleting_a_user_deletes_their_posts(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    bluesky_post_request(tape=tape, actor=user)
    assert bluesky_post_run(tape_id=tape.pk).state == BlueskyPostState.DONE
    assert len(pds.list_records(remote.did, COLLECTION)) == 1
    user_delete(user=user)
    assert pds.list_records(remote.did, COLLECTION) == []
    assert not BlueskyPost.objects.exists()
