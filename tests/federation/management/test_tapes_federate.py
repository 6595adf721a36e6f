"""manage.py tapes_federate: federate tapes now, by code or every failed one, with progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command

from federation.models import FederationState, TapeFederation
from federation.services import tape_federation_start
from tapes.models import Tape, TapeStatus
from tests.federation.conftest import COLLECTION, at_of
from tests.support.pds import Pds

pytestmark = pytest.mark.django_db


def test_tapes_federate_command_retries_failed_ones_with_progress(
    user: Any, link: Any, ready_tape: Callable[..., Tape], pds: Pds, capsys: Any
) -> None:
    _account, remote = link(user)
    tapes = [ready_tape(user) for _ in range(2)]
    for tape in tapes:
        tape_federation_start(tape=tape)
        TapeFederation.objects.filter(tape=tape).update(
            state=FederationState.FAILED, code="pds_unreachable", message="was down"
        )
    call_command("tapes_federate", "--failed")
    out = capsys.readouterr().out
    assert "2/2" in out and "done" in out
    assert TapeFederation.objects.filter(state=FederationState.DONE).count() == 2
    assert len(pds.list_records(remote.did, COLLECTION)) == 2
    for tape in tapes:
        tape.refresh_from_db()
        assert at_of(tape)["uri"].startswith(f"at://{remote.did}/")
        assert at_of(tape)["uri"] in out
    assert Tape.objects.filter(status=TapeStatus.READY).count() == 2

    # Naming a tape that is already federated is not a failure, and writes nothing more.
    call_command("tapes_federate", tapes[0].code)
    again = capsys.readouterr().out
    assert "done (already federated)" in again and at_of(tapes[0])["uri"] in again
    assert len(pds.list_records(remote.did, COLLECTION)) == 2
