"""A guest tape claimed by a user with a linked account becomes a record on their PDS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile

from accounts.claims import claim_token_issue, tapes_claim
from federation.models import FederationState, TapeFederation
from federation.services import tape_federate
from tapes.models import Tape
from tapes.storage import storage_for

pytestmark = pytest.mark.django_db


def test_a_claimed_guest_tape_federates_to_its_new_owners_pds(
    ready_tape: Callable[..., Tape],
    link: Callable[..., Any],
    user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tape = ready_tape(None)
    storage_for(tape.bucket).save(tape.zip_key, ContentFile(b"the guest's zip"))
    token = claim_token_issue(tape=tape)
    assert not TapeFederation.objects.filter(tape=tape).exists()  # guests never federate
    _account, remote = link(user)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = tapes_claim(user=user, tokens=[token])

    assert [outcome.code for outcome in outcomes] == [tape.code]
    fed = TapeFederation.objects.get(tape=tape)
    assert fed.state == FederationState.PENDING
    tape_federate(tape_id=tape.pk)
    fed.refresh_from_db()
    tape.refresh_from_db()
    assert fed.state == FederationState.DONE, (fed.code, fed.message)
    assert tape.at["uri"].startswith(f"at://{remote.did}/")
