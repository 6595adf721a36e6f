"""Fixtures for federation: linked users on the real PDS, and ready tapes with real MP4s; and
the helpers the federation tests share."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from federation.models import AtprotoAccount, TapeFederation
from federation.selectors import tape_at_record
from federation.services import atproto_account_link, tape_federate, tape_federation_start
from federation.services.sessions import decrypt, encrypt
from tapes.models import Tape, TapeStatus
from tapes.storage import bucket_for, sibling_key, storage_for, zip_key
from tests.support.encoded import Encoded, encode_synthetic
from tests.support.pds import Account, Pds
from tests.tapes.factories import ReadyTapeFactory

COLLECTION = "computer.aesthetic.tape"


@pytest.fixture(scope="session")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> Encoded:
    """One real encode (PyAV) of a small synthetic tape, shared by the session's ready tapes."""
    return encode_synthetic(
        tmp_path_factory.mktemp("encoded"), frames=12, width=64, height=48, scale=2, seed=3
    )


_slugs = itertools.count()


@pytest.fixture
def ready_tape(encoded: Encoded, local_storage: Path) -> Callable[..., Tape]:
    """``ready_tape(user, mp4=None)``: a tape as the encode job leaves it (READY, MP4 and
    thumbnail in storage), without running the encoder again."""

    def make(user: Any, *, mp4: bytes | None = None, piece: str = "line") -> Tape:
        n = next(_slugs)
        when = datetime(2025, 10, 17, 12, 30, tzinfo=UTC) + timedelta(milliseconds=n)
        slug = f"{piece}-{when:%Y.%m.%d.%H.%M.%S}.{n % 1000:03d}"
        owner = user.pk if user is not None else None
        bucket = bucket_for(user_id=owner)
        key = zip_key(user_id=owner, slug=slug)
        storage = storage_for(bucket)
        body = mp4 if mp4 is not None else encoded.mp4
        mp4_key = sibling_key(key, ".mp4")
        thumb_key = sibling_key(key, "-thumb.webp")
        storage.save(mp4_key, ContentFile(body))
        storage.save(thumb_key, ContentFile(encoded.thumbnail))
        return ReadyTapeFactory.create(
            code=f"f{n}x",
            slug=slug,
            user=user,
            when=when,
            bucket=bucket,
            piece=piece,
            zip_key=key,
            status=TapeStatus.READY,
            status_changed_at=when,
            progress=100,
            frames=encoded.frames,
            duration_ms=encoded.duration_ms,
            width=encoded.width,
            height=encoded.height,
            mp4_key=mp4_key,
            mp4_bytes=len(body),
            thumbnail_key=thumb_key,
            thumbnail_bytes=len(encoded.thumbnail),
            preview_key="",
            preview_bytes=None,
            scale=1,
        )

    return make


@pytest.fixture
def link(atproto_settings: Pds) -> Callable[..., tuple[AtprotoAccount, Account]]:
    """``link(user, pds=None)``: a fresh account on the (given or session) PDS, linked to
    ``user`` through the service with its app password."""

    def make(user: Any, pds: Pds | None = None) -> tuple[AtprotoAccount, Account]:
        server = pds or atproto_settings
        remote = server.create_account()
        account = atproto_account_link(
            user=user, identifier=remote.did, app_password=remote.app_password
        )
        return account, remote

    return make


def expire_access_token(account: AtprotoAccount) -> None:
    """Make the stored access token look expired to the site (as it would be hours later); the
    refresh token is left as it is."""
    session = json.loads(decrypt(account.session))
    head, payload, sig = session["accessJwt"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 10
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    session["accessJwt"] = f"{head}.{forged}.{sig}"
    AtprotoAccount.objects.filter(pk=account.pk).update(session=encrypt(json.dumps(session)))


def federate(tape: Tape) -> Any:
    tape_federation_start(tape=tape)
    return tape_federate(tape_id=tape.pk)


def fed_of(tape: Tape) -> TapeFederation:
    return TapeFederation.objects.get(tape=tape)


def at_of(tape: Tape) -> dict[str, str]:
    """The tape's ``at`` ({rkey, uri, cid}) as the API shows it now; {} until its PDS holds it."""
    return tape_at_record(Tape.objects.select_related("federation").get(pk=tape.pk)) or {}


@dataclass
class RateLimitingPds:
    """A loopback server the test owns that answers every XRPC call 429 with the
    ``ratelimit-reset`` it is told (``reset``: the header's text), counting the calls."""

    url: str
    reset: str = "0"
    calls: list[str] = field(default_factory=list)


@pytest.fixture
def rate_limiting_pds(settings: Any) -> Iterator[RateLimitingPds]:
    server_state = RateLimitingPds(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            server_state.calls.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = json.dumps({"error": "RateLimitExceeded", "message": "slow down"}).encode()
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ratelimit-reset", server_state.reset)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    # Allowlisted: the egress client would refuse a loopback PDS, and these tests are about
    # what the PDS answers, not where it is.
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [
        *settings.TAPES_EGRESS_ALLOWED_ORIGINS,
        server_state.url,
    ]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class TricklingPds:
    """A loopback server the test owns that answers every request one header byte a second, so
    no per-read timeout ever fires (at most ``limit`` bytes, then it hangs up)."""

    url: str
    connections: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def trickling_pds(settings: Any) -> Iterator[TricklingPds]:
    state = TricklingPds(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.connections += 1
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self.wfile.flush()
            for _ in range(120):  # bounded: two minutes at most
                if state.stop.wait(1.0):
                    return
                try:
                    self.wfile.write(b"a")
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [*settings.TAPES_EGRESS_ALLOWED_ORIGINS, state.url]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
