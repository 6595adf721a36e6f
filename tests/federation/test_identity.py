"""Identity resolution over the egress client (federation/identity.py): the DID document and the
PDS are fetched only from addresses the client allows."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from federation.identity import IdentityError, did_document_url, resolve
from tapesite.egress import ConnectionPool, Egress, EgressConfig, origin
from tests.support.listeners import Listener, respond, settle


def egress(*allowed: str) -> Egress:
    return Egress(
        EgressConfig(allowed_origins=frozenset(origin(u) for u in allowed), require_https=False),
        pool=ConnectionPool(),
    )


def test_a_did_web_on_a_loopback_port_is_never_fetched(listener: Callable[..., Listener]) -> None:
    target = listener(respond())
    with pytest.raises(IdentityError) as caught:
        resolve(
            f"did:web:127.0.0.1%3A{target.port}",
            egress=egress(),
            plc_url="https://plc.invalid",
            handle_resolver_url="",
        )
    assert caught.value.code == "egress_address_refused"
    settle()
    assert target.connections == 0


def test_a_did_web_with_a_path_is_not_an_atproto_identity() -> None:
    with pytest.raises(IdentityError) as caught:
        did_document_url("did:web:example.com:users:ada", plc_url="")
    assert caught.value.code == "atproto_identifier_invalid"


def test_a_plc_document_gives_the_pds_and_the_handle(listener: Callable[..., Listener]) -> None:
    did = "did:plc:abcdefghijklmnopqrstuvwx"
    doc = {
        "id": did,
        "alsoKnownAs": ["at://Ada.Test"],
        "service": [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://pds.example/",
            }
        ],
    }
    plc = listener(respond(body=json.dumps(doc).encode()))
    found = resolve(did, egress=egress(plc.url), plc_url=plc.url, handle_resolver_url="")
    assert (found.did, found.handle, found.pds_url) == (did, "ada.test", "https://pds.example")
    assert plc.requests[0].startswith(f"GET /{did} ".encode())


def test_a_document_of_another_did_is_refused(listener: Callable[..., Listener]) -> None:
    plc = listener(respond(body=b'{"id": "did:plc:someoneelse"}'))
    with pytest.raises(IdentityError) as caught:
        resolve(
            "did:plc:abcdefghijklmnopqrstuvwx",
            egress=egress(plc.url),
            plc_url=plc.url,
            handle_resolver_url="",
        )
    assert caught.value.code == "atproto_did_not_found"
