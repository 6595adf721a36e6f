"""The tapes admin: a fast list, a detail page with the video and its history, and moderation
actions that ask why, call the services and leave an audit trail."""

from __future__ import annotations

import re
from typing import Any

import django_rq
import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from audit.selectors import audit_entries_for
from federation.models import FederationState, TapeFederation
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tapes.storage import storage_for
from tests.accounts.factories import UserFactory
from tests.federation.factories import TapeFederationFactory
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/tapes/tape/"


def change_url(tape: Tape) -> str:
    return f"{LIST}{tape.pk}/change/"


def codes_listed(response: Any) -> set[str]:
    return set(
        re.findall(r'<th class="field-code"><a href="[^"]+">([^<]+)</a>', response.content.decode())
    )


def many_tapes(count: int) -> None:
    """``count`` tapes in one INSERT, a third by guests, the rest by 50 users, some nuked;
    half the users' tapes have a federation row (done, or failed for every seventh)."""
    owners = [UserFactory.create() for _ in range(50)]
    tapes = [
        ReadyTapeFactory.build(
            user=None if n % 3 == 0 else owners[n % 50],
            status=TapeStatus.FAILED if n % 10 == 0 else TapeStatus.READY,
            nuked=n % 17 == 0,
        )
        for n in range(count)
    ]
    Tape.objects.bulk_create(tapes, batch_size=2000)
    TapeFederation.objects.bulk_create(
        [
            TapeFederation(
                tape=tape,
                state=FederationState.FAILED if n % 7 == 0 else FederationState.DONE,
                code="pds_unreachable" if n % 7 == 0 else "",
            )
            for n, tape in enumerate(tapes)
            if tape.user is not None and n % 2 == 0
        ],
        batch_size=2000,
    )


# --- who may see and do what ---------------------------------------------------------------------


def test_non_staff_cannot_open_the_tapes_admin(client: Any, user: Any) -> None:
    client.force_login(user)
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_permissions_see_no_tapes(client: Any, staff: Any) -> None:
    client.force_login(staff)
    assert client.get(LIST).status_code == 403


def test_staff_who_may_view_but_not_nuke_get_no_nuke_action(client: Any, staff: Any) -> None:
    staff.user_permissions.add(Permission.objects.get(codename="view_tape"))
    tape = ReadyTapeFactory.create()
    client.force_login(staff)
    page = client.get(LIST)
    assert page.status_code == 200
    assert b'value="nuke"' not in page.content
    assert b"moderate-nuke" not in client.get(change_url(tape)).content
    # Posting the action anyway does nothing.
    client.post(
        LIST, {"action": "nuke", "_selected_action": [tape.pk], "apply": "1", "reason": "x"}
    )
    assert client.get(f"{LIST}{tape.pk}/moderate/nuke/").status_code == 403
    assert client.post(f"{LIST}{tape.pk}/moderate/nuke/", {"reason": "x"}).status_code == 403
    assert not Tape.objects.get(pk=tape.pk).nuked
    assert not AuditEntry.objects.exists()


def test_nobody_edits_or_deletes_a_tape_in_the_admin(client: Any, django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser(username="root", password="pw")
    tape = ReadyTapeFactory.create()
    client.force_login(root)
    page = client.get(change_url(tape))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.post(change_url(tape), {"slug": "x"}).status_code == 403
    assert client.get(f"{LIST}{tape.pk}/delete/").status_code == 403
    assert client.get(f"{LIST}add/").status_code == 403
    assert b'value="delete_selected"' not in client.get(LIST).content


# --- moderation actions --------------------------------------------------------------------------


def test_bulk_nuke_asks_why_then_nukes_and_audits(
    client: Any, moderator: Any, user: Any, api: Any, local_storage: Any
) -> None:
    chosen = [ReadyTapeFactory.create(user=user), ReadyTapeFactory.create()]
    spared = ReadyTapeFactory.create()
    for tape in [*chosen, spared]:
        storage_for(tape.bucket).save(tape.mp4_key, ContentFile(b"mp4"))
        assert api.get(f"/api/tapes/{tape.code}/media/mp4").status_code == 200
    client.force_login(moderator)
    selected = {"action": "nuke", "_selected_action": [t.pk for t in chosen]}
    asked = client.post(LIST, selected)
    assert asked.status_code == 200
    assert b'name="reason"' in asked.content
    assert not Tape.objects.filter(nuked=True).exists()
    # Without a reason nothing happens.
    empty = client.post(LIST, {**selected, "apply": "1", "reason": "  "})
    assert empty.status_code == 200 and b"This field is required" in empty.content
    assert not Tape.objects.filter(nuked=True).exists()
    done = client.post(LIST, {**selected, "apply": "1", "reason": "spam ring"}, follow=True)
    assert done.status_code == 200
    assert b"2 nuked" in done.content
    assert set(Tape.objects.filter(nuked=True)) == set(chosen)
    assert not Tape.objects.get(pk=spared.pk).nuked
    for tape in chosen:
        entry = audit_entries_for(target=tape).get()
        assert (entry.actor, entry.action, entry.reason) == (moderator, "tape_nuke", "spam ring")
        assert api.get(f"/api/tapes/{tape.code}").status_code == 404
        assert client.get(f"/t/{tape.code}").status_code == 404  # the tape page
        assert api.get(f"/api/tapes/{tape.code}/media/mp4").status_code == 404  # its files
    assert api.get(f"/api/tapes/{spared.code}").status_code == 200
    assert api.get(f"/api/tapes/{spared.code}/media/mp4").status_code == 200
    assert client.get(f"/t/{spared.code}").status_code == 200


def test_single_nuke_and_unnuke_from_the_detail_page(client: Any, moderator: Any) -> None:
    tape = ReadyTapeFactory.create()
    client.force_login(moderator)
    page = client.get(change_url(tape))
    assert b"moderate-nuke" in page.content and b"moderate-unnuke" not in page.content
    url = f"{LIST}{tape.pk}/moderate/nuke/"
    assert b'name="reason"' in client.get(url).content
    response = client.post(url, {"reason": "hateful"})
    assert response.status_code == 302 and response["Location"] == change_url(tape)
    assert Tape.objects.get(pk=tape.pk).nuked
    page = client.get(change_url(tape))
    assert b"moderate-unnuke" in page.content and b"moderate-nuke" not in page.content
    client.post(f"{LIST}{tape.pk}/moderate/unnuke/", {"reason": "appeal"})
    assert not Tape.objects.get(pk=tape.pk).nuked
    history = client.get(change_url(tape)).content.decode()
    assert history.index("appeal") < history.index("hateful")  # newest first
    assert "Un-nuke tape" in history and "judy" in history


def test_refusals_are_reported_not_hidden(client: Any, moderator: Any) -> None:
    from django.utils import timezone

    purged = ReadyTapeFactory.create(nuke=90)
    Tape.objects.filter(pk=purged.pk).update(files_purged_at=timezone.now())
    client.force_login(moderator)
    done = client.post(
        LIST,
        {"action": "unnuke", "_selected_action": [purged.pk], "apply": "1", "reason": "x"},
        follow=True,
    )
    assert b"Un-nuke refused" in done.content and b"were purged" in done.content
    assert Tape.objects.get(pk=purged.pk).nuked


def test_retry_encode_action_enqueues_the_encode_job(
    client: Any, moderator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    failed = [ReadyTapeFactory.create(failed=True), ReadyTapeFactory.create(failed=True)]
    client.force_login(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            LIST,
            {
                "action": "retry_encode",
                "_selected_action": [t.pk for t in failed],
                "apply": "1",
                "reason": "encoder upgraded",
            },
        )
    queue = django_rq.get_queue(ENCODE.queue)
    assert sorted(queue.job_ids) == sorted(ENCODE.job_id(t.pk) for t in failed)
    for tape in failed:
        tape.refresh_from_db()
        assert tape.status == TapeStatus.QUEUED and tape.failure_code == ""
        assert audit_entries_for(target=tape).get().reason == "encoder upgraded"


def test_bulk_actions_are_capped(client: Any, moderator: Any) -> None:
    from tapes.admin.moderation import BULK_LIMIT

    many_tapes(BULK_LIMIT + 1)
    client.force_login(moderator)
    done = client.post(
        LIST,
        {"action": "nuke", "select_across": "1", "_selected_action": ["1"], "index": "0"},
        follow=True,
    )
    assert f"At most {BULK_LIMIT} tapes".encode() in done.content
    assert not Tape.objects.filter(nuked=True, nuked_at__isnull=False).exists()


# --- the detail page -----------------------------------------------------------------------------


def test_detail_shows_video_failure_record_and_metadata(client: Any, moderator: Any) -> None:
    tape = ReadyTapeFactory.create()
    TapeFederationFactory.create(tape=tape, federated=True)
    failed = ReadyTapeFactory.create(failed=True)
    client.force_login(moderator)
    page = client.get(change_url(tape)).content.decode()
    media = f"/admin/tapes/tape/{tape.pk}/media/mp4/"
    assert f'<video class="tape-admin-video" controls preload="metadata" src="{media}"' in page
    assert "at://did:plc:abc/computer.aesthetic.tape/3k2" in page
    assert "&quot;frames&quot;: 12" in page
    assert "no actions yet" in page
    failing = client.get(change_url(failed)).content.decode()
    assert "archive_not_zip: The file is not a ZIP archive." in failing


def test_staff_open_every_file_of_a_nuked_tape_that_the_public_no_longer_can(
    client: Any, moderator: Any, local_storage: Any
) -> None:
    tape = ReadyTapeFactory.create(nuke=0, gif_key="t.gif")
    files = {
        "zip": tape.zip_key,
        "mp4": tape.mp4_key,
        "thumbnail": tape.thumbnail_key,
        "preview": tape.preview_key,
        "gif": tape.gif_key,
    }
    for name, key in files.items():
        storage_for(tape.bucket).save(key, ContentFile(f"{name} bytes".encode()))
    client.force_login(moderator)
    page = client.get(change_url(tape)).content.decode()
    for name in files:
        url = f"/admin/tapes/tape/{tape.pk}/media/{name}/"
        assert f'href="{url}"' in page, name
        got = client.get(url)
        assert got.status_code == 200, name
        assert b"".join(got.streaming_content) == f"{name} bytes".encode()
        assert client.get(f"/api/tapes/{tape.code}/media/{name}").status_code == 404
    assert f'src="/admin/tapes/tape/{tape.pk}/media/thumbnail/"' in page
    assert client.get(f"/admin/tapes/tape/{tape.pk}/media/nothing/").status_code == 404

    # Not for the public, nor for signed-in people who are not staff.
    url = f"/admin/tapes/tape/{tape.pk}/media/mp4/"
    client.logout()
    assert client.get(url).status_code == 302
    client.force_login(UserFactory.create())
    assert client.get(url).status_code == 302


# --- the list: filters, search, and a bounded number of queries ----------------------------------


def test_filters_and_search(client: Any, moderator: Any) -> None:
    ada = UserFactory.create(username="ada")
    guest_ready = ReadyTapeFactory.create(code="Abc")
    ada_failed = ReadyTapeFactory.create(user=ada, failed=True, piece="wave")
    ada_nuked = ReadyTapeFactory.create(user=ada, nuke=1, code="abc")
    client.force_login(moderator)

    def listed(query: str) -> set[str]:
        response = client.get(f"{LIST}?{query}")
        assert response.status_code == 200, query
        return codes_listed(response)

    assert listed("") == {guest_ready.code, ada_failed.code, ada_nuked.code}
    assert listed("status__exact=failed") == {ada_failed.code}
    assert listed("nuked__exact=1") == {ada_nuked.code}
    assert listed("kind=guest") == {guest_ready.code}
    assert listed("kind=user") == {ada_failed.code, ada_nuked.code}
    assert listed("when__gte=2000-01-01T00:00:00%2B00:00") == {
        guest_ready.code,
        ada_failed.code,
        ada_nuked.code,
    }
    # Codes are case-sensitive, with or without the "!".
    assert listed("q=Abc") == {"Abc"}
    assert listed("q=%21abc") == {"abc"}
    assert listed("q=wave-") == {ada_failed.code}
    assert listed("q=ADA") == {ada_failed.code, ada_nuked.code}


def test_federation_state_column_and_filter(client: Any, moderator: Any) -> None:
    never = ReadyTapeFactory.create()  # no TapeFederation row at all: counts as "none"
    unfederated = ReadyTapeFactory.create()
    failed = ReadyTapeFactory.create()
    done = ReadyTapeFactory.create()
    TapeFederation.objects.create(tape=unfederated, state=FederationState.NONE)
    TapeFederation.objects.create(
        tape=failed, state=FederationState.FAILED, code="record_invalid", message="bad"
    )
    TapeFederation.objects.create(tape=done, state=FederationState.DONE, rkey="3k2")
    client.force_login(moderator)

    def listed(query: str) -> set[str]:
        response = client.get(f"{LIST}?{query}")
        assert response.status_code == 200, query
        return codes_listed(response)

    assert listed("federation=none") == {never.code, unfederated.code}
    assert listed("federation=failed") == {failed.code}
    assert listed("federation=done") == {done.code}
    assert listed("federation=pending") == set()
    page = client.get(f"{LIST}?federation=failed").content.decode()
    assert '<td class="field-federation_state">failed (record_invalid)</td>' in page
    assert (
        '<td class="field-federation_state">none</td>'
        in client.get(f"{LIST}?federation=none").content.decode()
    )


def test_detail_links_the_record_on_its_pds(client: Any, moderator: Any) -> None:
    tape = ReadyTapeFactory.create()
    TapeFederationFactory.create(tape=tape, federated=True, pds_url="http://127.0.0.1:2583/")
    client.force_login(moderator)
    page = client.get(change_url(tape)).content.decode()
    assert (
        '<a href="http://127.0.0.1:2583/xrpc/com.atproto.repo.getRecord?repo=did%3Aplc%3Aabc'
        '&amp;collection=computer.aesthetic.tape&amp;rkey=3k2"' in page
    )


def test_the_video_shows_its_thumbnail_before_it_plays(client: Any, moderator: Any) -> None:
    tape = ReadyTapeFactory.create()
    no_thumbnail = ReadyTapeFactory.create(thumbnail_key="")
    client.force_login(moderator)
    page = client.get(change_url(tape)).content.decode()
    video = re.search(r"<video [^>]*>", page)
    assert video is not None
    assert f'poster="/admin/tapes/tape/{tape.pk}/media/thumbnail/"' in video.group(0)
    bare = re.search(r"<video [^>]*>", client.get(change_url(no_thumbnail)).content.decode())
    assert bare is not None and "poster" not in bare.group(0)


def _offered(client: Any, tape: Tape) -> set[str]:
    """The moderation buttons of a tape's change page."""
    page = client.get(change_url(tape)).content.decode()
    return set(re.findall(r'class="moderate-([a-z_]+)"', page))


def test_the_detail_page_offers_only_what_applies_to_the_tape(client: Any, moderator: Any) -> None:
    from django.utils import timezone

    client.force_login(moderator)
    live = ReadyTapeFactory.create()
    assert _offered(client, live) == {"nuke", "retry_encode"}
    busy = ReadyTapeFactory.create(status=TapeStatus.PROCESSING)
    assert _offered(client, busy) == {"nuke"}
    failed = ReadyTapeFactory.create(failed=True)
    assert _offered(client, failed) == {"nuke", "retry_encode"}
    nuked = ReadyTapeFactory.create(nuke=1)
    assert _offered(client, nuked) == {"unnuke"}
    purged = ReadyTapeFactory.create(nuke=90)
    Tape.objects.filter(pk=purged.pk).update(files_purged_at=timezone.now())
    assert _offered(client, purged) == set()
    # Federation: a failed sync may be retried; a done one may not.
    synced = ReadyTapeFactory.create(user=UserFactory.create())
    TapeFederationFactory.create(tape=synced, federated=True)
    assert _offered(client, synced) == {"nuke", "retry_encode"}
    stuck = ReadyTapeFactory.create(user=UserFactory.create())
    TapeFederationFactory.create(tape=stuck, state=FederationState.FAILED, code="pds_down")
    assert _offered(client, stuck) == {"nuke", "retry_encode", "retry_federation"}
    # A nuked tape whose record delete gave up: retry or abandon it, or un-nuke the tape.
    gone = ReadyTapeFactory.create(user=UserFactory.create(), nuke=1)
    TapeFederationFactory.create(
        tape=gone, state=FederationState.FAILED, wanted=False, stale_rkeys=["3k2"]
    )
    assert _offered(client, gone) == {"unnuke", "retry_record_delete", "abandon_record_delete"}


def test_a_bulk_action_skips_the_tapes_it_does_not_apply_to_and_says_why(
    client: Any, moderator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    busy = ReadyTapeFactory.create(status=TapeStatus.PROCESSING)
    failed = ReadyTapeFactory.create(failed=True)
    already = ReadyTapeFactory.create(nuke=1)
    client.force_login(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            LIST,
            {
                "action": "retry_encode",
                "_selected_action": [busy.pk, failed.pk],
                "apply": "1",
                "reason": "x",
            },
            follow=True,
        ).content.decode()
    assert f"1 queued for encoding (!{failed.code})" in done
    assert "Retry encode refused: it is being encoded right now" in done
    assert Tape.objects.get(pk=busy.pk).status == TapeStatus.PROCESSING
    nuked_at = Tape.objects.get(pk=already.pk).nuked_at
    done = client.post(
        LIST,
        {"action": "nuke", "_selected_action": [already.pk], "apply": "1", "reason": "x"},
        follow=True,
    ).content.decode()
    assert "Nuke refused: already nuked" in done
    assert Tape.objects.get(pk=already.pk).nuked_at == nuked_at
    assert not audit_entries_for(target=already).exists()


def test_the_owner_links_to_their_admin_and_their_public_page(client: Any, moderator: Any) -> None:
    owner = UserFactory.create(username="grace")
    tape = ReadyTapeFactory.create(user=owner)
    guest = ReadyTapeFactory.create()
    client.force_login(moderator)
    page = client.get(change_url(tape)).content.decode()
    assert f'<a href="/admin/accounts/user/{owner.pk}/change/">grace</a>' in page
    assert '<a class="owner-page" href="/u/grace">/u/grace</a>' in page
    assert client.get("/u/grace").status_code == 200
    assert 'class="owner-page"' not in client.get(change_url(guest)).content.decode()


def _list_queries(client: Any, query: str = "") -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    assert response.content.count(b'class="action-select"') == 50
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status__exact=ready",
        "nuked__exact=0&kind=user",
        "federation=none",
        "federation=done&kind=user",
        "o=3&when__gte=2000-01-01T00:00:00%2B00:00",
    ],
)
def test_the_list_of_10k_tapes_runs_a_bounded_number_of_queries(
    client: Any, moderator: Any, query: str
) -> None:
    many_tapes(200)
    client.force_login(moderator)
    small = _list_queries(client, query)
    many_tapes(10_000)
    large = _list_queries(client, query)
    # The same queries whatever the number of tapes: no query per row (owners, thumbnails).
    assert len(large) == len(small) <= 8, "\n".join(large)
    # No second, unfiltered COUNT for "N of M": show_full_result_count is off.
    assert sum("COUNT(*)" in sql for sql in large) <= 1


def test_a_large_unfiltered_list_uses_the_estimate_not_a_count(
    client: Any, moderator: Any, monkeypatch: Any
) -> None:
    from tapes.admin import pagination

    many_tapes(3000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tapes_tape")
    monkeypatch.setattr(pagination, "EXACT_BELOW", 1000)
    client.force_login(moderator)
    queries = _list_queries(client)
    assert not any("COUNT(*)" in sql for sql in queries), queries
    page = client.get(LIST).content.decode()
    assert re.search(r"about \d+ tapes", page)
    # A filtered list is still counted exactly.
    filtered = _list_queries(client, "status__exact=failed")
    assert sum("COUNT(*)" in sql for sql in filtered) == 1
