"""When a tape's Bluesky post is written or goes: asked for by its owner (from the tape page,
or once for every new public tape when they chose so on /me), retried, taken back by the owner,
withdrawn by a nuke, by going unlisted or by the owner's account being deleted, and found again
by reconcile when its job got stuck. An un-nuke does not post again: the owner asks again.
The work itself is ``run``'s job."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from bluesky import queueing
from bluesky.errors import VIDEO_CODES, public_message
from bluesky.models import BlueskyEmbed, BlueskyPost, BlueskyPostState, BlueskyPreferences
from bluesky.records import COLLECTION
from bluesky.services.common import owner_account, tape_postable
from federation.backoff import backoff_delay
from federation.errors import FederationFailure
from federation.services.sessions import AccountAuthFailed, PdsSession, with_session
from tapes.models import Tape, TapeStatus, TapeVisibility
from tapesite.errors import TapesiteError
from tapesite.queueing import QueueUnavailable

logger = logging.getLogger(__name__)


def _refuse(code: str, status: int = 409) -> TapesiteError:
    return TapesiteError(code, public_message(code), status=status)


def _queue_afresh(post: BlueskyPost) -> None:
    """Inside a transaction with ``post`` locked: pending with fresh counts, and the job
    enqueued once the change commits."""
    post.state = BlueskyPostState.PENDING
    post.attempts = 0
    post.progress = 0
    post.not_before = None
    post.requeues, post.requeue_after = 0, None
    post.save()
    tape_id = post.tape_id
    transaction.on_commit(lambda: queueing.enqueue_post(tape_id))


def _check_postable(tape: Tape) -> None:
    if tape.nuked:
        raise TapesiteError("not_found", f"No tape has the code {tape.code!r}.", status=404)
    if tape.status != TapeStatus.READY:
        raise _refuse("bluesky_tape_not_ready")
    if tape.visibility != TapeVisibility.PUBLIC:
        raise _refuse("bluesky_tape_not_public")
    if owner_account(tape) is None:
        raise _refuse("bluesky_not_linked")


def _check_owner(tape: Tape, actor: User) -> None:
    if tape.user_id is None or tape.user_id != actor.pk:
        # Only the owner posts to their own account; others learn nothing about the post.
        raise TapesiteError(
            "not_found", f"No tape of yours has the code {tape.code!r}.", status=404
        )


def bluesky_post_request(*, tape: Tape, actor: User, automatic: bool = False) -> BlueskyPost:
    """Post the tape to its owner's Bluesky (or retry a failed post, or post again a link card
    that stood in for the video): its owner only. The job runs after commit."""
    _check_owner(tape, actor)
    _check_postable(tape)
    with transaction.atomic():
        post, created = BlueskyPost.objects.select_for_update().get_or_create(
            tape=tape, defaults={"automatic": automatic}
        )
        if not created and post.wanted:
            if post.state == BlueskyPostState.PENDING:
                return post  # already under way: asking twice posts once
            if post.state == BlueskyPostState.DONE:
                if not (post.embed == BlueskyEmbed.EXTERNAL and post.code in VIDEO_CODES):
                    raise _refuse("bluesky_already_posted")
                # The card stood in for the video: the owner asks for the video now (the daily
                # limit passed, their email is confirmed). The card goes once the video is up.
                post.stale_rkeys = [*post.stale_rkeys, post.rkey]
                post.rkey = post.uri = post.cid = ""
                post.embed = ""
                post.video_blob = None
                post.video_job_id = ""
        elif not created:
            # Being taken back (or its delete failed): keep deleting the old one, post anew.
            post.automatic = automatic
        post.wanted = True
        post.code = post.message = ""
        _queue_afresh(post)
    return post


def bluesky_post_withdraw(*, tape: Tape, actor: User) -> BlueskyPost | None:
    """Delete the tape's post from Bluesky (its owner asks): the job deletes it, retried until
    the PDS confirms. Returns the row while the delete is pending, None when nothing was
    written yet (the row is gone at once)."""
    _check_owner(tape, actor)
    with transaction.atomic():
        post = BlueskyPost.objects.select_for_update().filter(tape=tape).first()
        if post is None:
            raise TapesiteError("bluesky_not_posted", "This tape is not on Bluesky.", status=404)
        return _withdraw(post)


def _withdraw(post: BlueskyPost) -> BlueskyPost | None:
    """Inside a transaction with ``post`` locked: the post goes, or the row at once when
    nothing of it was written. A run under way notices (its rerun check) and deletes what it
    wrote."""
    if post.rkey:
        post.stale_rkeys = [*post.stale_rkeys, post.rkey]
        post.rkey = ""
    if not post.stale_rkeys:
        # Nothing written (a run writes only under an rkey it committed first).
        post.delete()
        return None
    post.wanted = False
    post.uri = post.cid = ""
    post.code = post.message = ""
    post.video_blob = None
    post.video_job_id = ""
    _queue_afresh(post)
    return post


def bluesky_post_on_nuke(*, tape: Tape) -> None:
    """Inside tape_nuke's transaction (``tape_nuked``), and when the tape goes unlisted: the
    post would still advertise it, so it goes. An un-nuke does not bring it back."""
    post = BlueskyPost.objects.select_for_update().filter(tape=tape).first()
    if post is not None and (post.wanted or post.stale_rkeys):
        _withdraw(post)


def bluesky_post_on_visibility(*, tape: Tape) -> None:
    """Inside tape_edit's transaction (``tape_visibility_changed``): an unlisted tape is found
    by its code only, and a post would list it; public again, the owner posts it again."""
    if tape.visibility != TapeVisibility.PUBLIC:
        bluesky_post_on_nuke(tape=tape)


def bluesky_post_on_ready(*, tape: Tape) -> BlueskyPost | None:
    """After a tape becomes ready (``tape_ready``): posted when its owner chose "post every new
    tape", it is public, and they have a linked account; else nothing."""
    owner = tape.user
    if owner is None or not tape_postable(tape):
        return None
    chose = BlueskyPreferences.objects.filter(user=owner, post_new_tapes=True).exists()
    if not chose or owner_account(tape) is None:
        return None
    if BlueskyPost.objects.filter(tape=tape).exists():
        return None
    return bluesky_post_request(tape=tape, actor=owner, automatic=True)


def bluesky_posts_on_deleting(*, tape_ids: Iterable[int]) -> int:
    """Inside the transaction that deletes a user's tapes (``tapes_deleting``), before the rows
    and the linked account go: the posts would link to pages that no longer exist, and nothing
    will be left to delete them with later. Best effort and at once: a PDS that fails is
    logged, never allowed to stop the deletion. Returns how many posts went."""
    posts = list(
        BlueskyPost.objects.filter(tape_id__in=list(tape_ids))
        .exclude(rkey="", stale_rkeys=[])
        .select_related("tape")
    )
    deleted = 0
    by_did: dict[str, list[BlueskyPost]] = {}
    for post in posts:
        by_did.setdefault(post.did, []).append(post)
    for did, group in by_did.items():
        account = owner_account(group[0].tape)
        if account is None or account.did != did:
            continue  # relinked elsewhere: those posts are out of reach
        rkeys = [key for post in group for key in [*post.stale_rkeys, post.rkey] if key]

        def delete(session: PdsSession, rkeys: list[str] = rkeys) -> int:
            for rkey in rkeys:
                session.xrpc.delete_record(session.did, COLLECTION, rkey, session.access_jwt)
            return len(rkeys)

        try:
            deleted += with_session(account_id=account.pk, action=delete)
        except (AccountAuthFailed, FederationFailure) as exc:
            logger.warning("deleting %s's Bluesky posts with their tapes failed: %s", did, exc)
    return deleted


def bluesky_preferences_set(*, user: User, post_new_tapes: bool) -> BlueskyPreferences:
    prefs, _ = BlueskyPreferences.objects.get_or_create(user=user)
    prefs.post_new_tapes = post_new_tapes
    prefs.full_clean()
    prefs.save()
    return prefs


@dataclass
class BlueskyReconcileReport:
    requeued: list[int] = field(default_factory=list)
    # Requeued ATPROTO_STUCK_MAX_REQUEUES times and still stuck: failed (bluesky_stuck, or
    # bluesky_post_delete_failed for a delete).
    gave_up: list[int] = field(default_factory=list)


def _requeue_delay(requeues: int) -> float:
    return backoff_delay(
        requeues,
        floor=float(settings.ATPROTO_STUCK_AFTER_SECONDS),
        cap=max(float(settings.ATPROTO_RETRY_CAP_SECONDS), settings.ATPROTO_STUCK_AFTER_SECONDS),
        rand=lambda: 1.0,
    )


def bluesky_posts_reconcile() -> BlueskyReconcileReport:
    """Pending posts whose job is neither waiting, scheduled nor running and showed no sign of
    life past ATPROTO_STUCK_AFTER_SECONDS (a killed worker, a lost job): enqueue them again,
    waiting longer each time, and after ATPROTO_STUCK_MAX_REQUEUES fail them with a code the
    owner sees and can retry."""
    now = timezone.now()
    report = BlueskyReconcileReport()
    cutoff = now - timedelta(seconds=int(settings.ATPROTO_STUCK_AFTER_SECONDS))
    lost = BlueskyPost.objects.filter(
        Q(not_before__isnull=True) | Q(not_before__lte=cutoff),
        Q(requeue_after__isnull=True) | Q(requeue_after__lte=now),
        state=BlueskyPostState.PENDING,
        updated_at__lte=cutoff,
    )
    candidates = list(lost.order_by("updated_at").values_list("pk", "tape_id", "requeues")[:500])
    if not candidates:
        return report
    try:
        live = queueing.post_jobs_live()
    except QueueUnavailable:
        return report  # the next sweep tries again
    limit = int(settings.ATPROTO_STUCK_MAX_REQUEUES)
    for post_id, tape_id, requeues in candidates:
        if tape_id in live:
            BlueskyPost.objects.filter(pk=post_id).update(updated_at=timezone.now())
            continue
        if requeues >= limit:
            if _fail_stuck(post_id, cutoff=cutoff):
                report.gave_up.append(tape_id)
            continue
        if queueing.enqueue_post(tape_id):
            BlueskyPost.objects.filter(pk=post_id).update(
                updated_at=timezone.now(),
                requeues=F("requeues") + 1,
                requeue_after=timezone.now() + timedelta(seconds=_requeue_delay(requeues + 1)),
            )
            report.requeued.append(tape_id)
    return report


@transaction.atomic
def _fail_stuck(post_id: int, *, cutoff: datetime) -> bool:
    # Under the row lock: a run that started since the sweep looked is not stuck.
    post = BlueskyPost.objects.select_for_update().filter(pk=post_id).first()
    if post is None or post.state != BlueskyPostState.PENDING or post.updated_at > cutoff:
        return False
    code = "bluesky_stuck" if post.wanted else "bluesky_post_delete_failed"
    post.state = BlueskyPostState.FAILED
    post.code = code
    post.message = (
        f"The posting job stopped without finishing after {post.requeues} requeues "
        f"({post.attempts} attempts); last: {post.message or 'no error recorded'}"
    )[:2000]
    post.requeue_after = None
    post.save()
    logger.error("tape %s: %s after %s requeues", post.tape_id, code, post.requeues)
    return True
