"""factory_boy factories for the federation app's test data: rows only (no PDS behind them)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from federation.models import AtprotoAccount, FederationState, TapeFederation
from federation.services.sessions import encrypt


class AtprotoAccountFactory(DjangoModelFactory[AtprotoAccount]):
    class Meta:
        model = AtprotoAccount

    did = factory.Sequence(lambda n: f"did:plc:test{n:020d}")
    handle = factory.Sequence(lambda n: f"someone{n}.test")
    pds_url = "http://127.0.0.1:9/"
    app_password = factory.LazyFunction(lambda: encrypt("aaaa-bbbb-cccc-dddd"))


class TapeFederationFactory(DjangoModelFactory[TapeFederation]):
    class Meta:
        model = TapeFederation

    state = FederationState.PENDING

    class Params:
        # A record its PDS holds: ``did`` and ``rkey`` make its ``at://`` URI.
        federated = factory.Trait(
            state=FederationState.DONE,
            did="did:plc:abc",
            rkey="3k2",
            uri=factory.LazyAttribute(lambda f: f"at://{f.did}/computer.aesthetic.tape/{f.rkey}"),
            cid="bafyreid",
        )
