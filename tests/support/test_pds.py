"""The suite's PDS fixture itself: accounts made through the admin/invite APIs can write."""

from __future__ import annotations

import requests

from tests.support.pds import Pds


def test_account_made_through_invite_can_write_and_read_back(pds: Pds) -> None:
    account = pds.create_account()
    session = pds.login(account.did, account.app_password)
    response = requests.post(
        pds.xrpc_url("com.atproto.repo.createRecord"),
        json={
            "repo": account.did,
            "collection": "computer.aesthetic.probe",
            "record": {"$type": "computer.aesthetic.probe", "n": 1},
        },
        headers={"Authorization": f"Bearer {session['accessJwt']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    records = pds.list_records(account.did, "computer.aesthetic.probe")
    assert [r["value"]["n"] for r in records] == [1]
    assert pds.url.startswith("http://localhost:")
