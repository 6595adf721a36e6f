"""The owner's API: edit (PATCH), delete and its undo, a guest's delete with the claim token,
and listings that keep unlisted tapes to their owner."""

from __future__ import annotations

from typing import Any

import pytest

from tapes import services
from tapes.models import Tape
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


def test_the_owner_patches_the_words_and_visibility(api: Any, user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    api.force_authenticate(user)
    response = api.patch(
        f"/api/tapes/{tape.code}",
        {"title": "Night drive", "alt_text": "Yellow dots", "visibility": "unlisted"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["alt_text"], body["visibility"]) == (
        "Night drive",
        "Yellow dots",
        "unlisted",
    )
    assert body["description"] == ""
    assert Tape.objects.get(pk=tape.pk).revision == 1


def test_patch_refusals_have_codes(api: Any, user: Any, other_user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    anonymous = api.patch(f"/api/tapes/{tape.code}", {"title": "x"}, format="json")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (
        401,
        "not_authenticated",
    )
    api.force_authenticate(other_user)
    stranger = api.patch(f"/api/tapes/{tape.code}", {"title": "x"}, format="json")
    assert (stranger.status_code, stranger.json()["error"]["code"]) == (403, "forbidden")
    api.force_authenticate(user)
    bad = api.patch(f"/api/tapes/{tape.code}", {"visibility": "secret"}, format="json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_input")
    too_long = api.patch(f"/api/tapes/{tape.code}", {"title": "t" * 101}, format="json")
    assert (too_long.status_code, too_long.json()["error"]["code"]) == (400, "invalid_input")
    assert Tape.objects.get(pk=tape.pk).title == ""


def test_delete_then_restore_by_the_owner(api: Any, user: Any) -> None:
    tape = ReadyTapeFactory.create(user=user)
    api.force_authenticate(user)
    assert api.delete(f"/api/tapes/{tape.code}").status_code == 204
    assert api.get(f"/api/tapes/{tape.code}").status_code == 404
    restored = api.post(f"/api/tapes/{tape.code}/restore")
    assert restored.status_code == 200, restored.content
    assert restored.json()["code"] == tape.code
    assert api.get(f"/api/tapes/{tape.code}").status_code == 200


def test_a_guest_deletes_with_the_claim_token_header(api: Any) -> None:
    tape = ReadyTapeFactory.create(user=None)
    token = services.claim_token_issue(tape=tape)
    refused = api.delete(f"/api/tapes/{tape.code}", HTTP_X_CLAIM_TOKEN="not-it")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "claim_token_invalid")
    without = api.delete(f"/api/tapes/{tape.code}")
    assert without.status_code == 401
    assert api.delete(f"/api/tapes/{tape.code}", HTTP_X_CLAIM_TOKEN=token).status_code == 204
    assert Tape.objects.get(pk=tape.pk).nuked
    no_token = api.post(f"/api/tapes/{tape.code}/restore")
    assert no_token.status_code == 401
    back = api.post(f"/api/tapes/{tape.code}/restore", HTTP_X_CLAIM_TOKEN=token)
    assert back.status_code == 200, back.content
    assert not Tape.objects.get(pk=tape.pk).nuked


def test_unlisted_tapes_stay_out_of_other_peoples_lists(
    api: Any, user: Any, other_user: Any
) -> None:
    public = ReadyTapeFactory.create(user=user)
    unlisted = ReadyTapeFactory.create(user=user, visibility="unlisted")

    def codes(**params: str) -> set[str]:
        response = api.get("/api/tapes", params)
        assert response.status_code == 200
        return {item["code"] for item in response.json()["results"]}

    assert codes() == {public.code}
    assert codes(owner=user.username) == {public.code}
    api.force_authenticate(other_user)
    assert codes(owner=user.username) == {public.code}
    api.force_authenticate(user)
    # The owner's own list has both; the gallery's never.
    assert codes(owner=user.username) == {public.code, unlisted.code}
    assert codes() == {public.code}
    # Reachable by its code for anyone.
    api.force_authenticate(None)
    assert api.get(f"/api/tapes/{unlisted.code}").json()["visibility"] == "unlisted"
