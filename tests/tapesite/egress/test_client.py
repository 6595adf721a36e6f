"""The egress client against loopback listeners the tests own: what it refuses before connecting,
what it does not follow, when it stops reading, and that it keeps connections alive."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tapesite.egress import ConnectionPool, Egress, EgressConfig, EgressError, origin
from tests.support.listeners import Listener, endless, respond, settle, silent, trickle


def client(*allowed: str, resolve: Any = None, **config: Any) -> Egress:
    settings = EgressConfig(
        allowed_origins=frozenset(origin(url) for url in allowed),
        require_https=config.pop("require_https", False),
        **config,
    )
    if resolve is None:
        return Egress(settings, pool=ConnectionPool())
    return Egress(settings, pool=ConnectionPool(), resolve=resolve)


def resolving_to(address: str) -> Callable[[str, int], list[tuple[int, tuple[Any, ...]]]]:
    """A resolver that answers ``address`` for every name."""

    def resolve(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        return [(socket.AF_INET, (address, port))]

    return resolve


def refused(call: Callable[[], Any]) -> EgressError:
    with pytest.raises(EgressError) as caught:
        call()
    return caught.value


def test_a_non_global_address_is_refused_before_any_connection(
    listener: Callable[..., Listener],
) -> None:
    target = listener(respond())
    egress = client()
    for url in (f"{target.url}/x", f"https://127.0.0.1:{target.port}/", "http://localhost:1/"):
        with pytest.raises(EgressError) as caught:
            egress.get(url)
        error = caught.value
        assert error.code == "egress_address_refused", url
        assert not error.retryable
    settle()
    assert target.connections == 0


def test_an_allowlisted_origin_does_not_open_other_ports_of_its_host(
    listener: Callable[..., Listener],
) -> None:
    allowed = listener(respond(body=b'{"ok": true}'))
    other = listener(respond())
    egress = client(allowed.url)
    assert egress.get(f"{allowed.url}/xrpc/a").json() == {"ok": True}
    error = refused(lambda: egress.get(f"{other.url}/xrpc/a"))
    assert error.code == "egress_address_refused"
    settle()
    assert (allowed.connections, other.connections) == (1, 0)


def test_plain_http_needs_an_allowlisted_origin_and_no_https_requirement(
    listener: Callable[..., Listener],
) -> None:
    target = listener(respond())
    # A public address over plain http: refused for the scheme, before connecting.
    error = refused(lambda: client(resolve=resolving_to("8.8.8.8")).get("http://pds.example/"))
    assert error.code == "egress_https_required"
    # An allowlisted origin where https is required (production): refused too.
    strict = client(target.url, require_https=True)
    assert refused(lambda: strict.get(target.url)).code == "egress_https_required"
    settle()
    assert target.connections == 0


def test_a_redirect_is_not_followed_and_the_body_goes_nowhere_else(
    listener: Callable[..., Listener],
) -> None:
    second = listener(respond())
    first = listener(
        respond("307 Temporary Redirect", b"", {"Location": f"{second.url}/xrpc/elsewhere"})
    )
    # Both allowlisted: the refusal is the redirect's, not the address check's.
    egress = client(first.url, second.url)
    error = refused(
        lambda: egress.post(f"{first.url}/xrpc/com.atproto.server.createSession", json={"pw": "s"})
    )
    assert error.code == "egress_redirect"
    assert "307" in error.detail
    settle()
    assert second.connections == 0
    assert second.requests == []
    assert len(first.requests) == 1 and first.requests[0].endswith(b'{"pw": "s"}')


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", id="body"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX-Slow: ", id="headers"),
    ],
)
def test_a_trickling_server_ends_at_the_deadline(
    listener: Callable[..., Listener], head: bytes
) -> None:
    slow = listener(trickle(head, every=2.0, count=60))
    egress = client(slow.url, deadline=3.0)
    started = time.monotonic()
    error = refused(lambda: egress.get(slow.url))
    took = time.monotonic() - started
    assert error.code == "egress_timeout"
    assert error.retryable
    # The server would go on for two minutes; each read only had the time left.
    assert took < 3.0 + 2.0, took


def test_a_silent_tls_handshake_and_a_slow_dns_answer_end_at_the_deadline(
    listener: Callable[..., Listener],
) -> None:
    mute = listener(silent())
    url = f"https://127.0.0.1:{mute.port}/"
    started = time.monotonic()
    assert refused(lambda: client(url, deadline=2.0).get(url)).code == "egress_timeout"
    assert time.monotonic() - started < 2.0 + 2.0
    answered = threading.Event()

    def slow_dns(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        answered.wait(30)
        return [(socket.AF_INET, ("8.8.8.8", port))]

    started = time.monotonic()
    error = refused(lambda: client(resolve=slow_dns, deadline=1.0).get("https://slow.invalid/"))
    answered.set()
    assert error.code == "egress_timeout"
    assert time.monotonic() - started < 1.0 + 2.0


def test_an_oversized_answer_ends_at_the_cap(listener: Callable[..., Listener]) -> None:
    declared = listener(respond(body=b"x" * 5000))
    streamed = listener(endless(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"))
    egress = client(declared.url, streamed.url, max_bytes=4096)
    error = refused(lambda: egress.get(declared.url))
    assert (error.code, "declared 5000" in error.detail) == ("egress_too_large", True)
    error = refused(lambda: egress.get(streamed.url, max_bytes=100_000))
    assert error.code == "egress_too_large"
    assert "over 100000" in error.detail


def test_the_address_checked_is_the_address_connected_and_the_host_is_kept(
    listener: Callable[..., Listener],
) -> None:
    target = listener(respond())
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        lookups.append(host)
        return [(socket.AF_INET, ("127.0.0.1", port))]

    name = f"http://pds.invalid:{target.port}"
    egress = client(name, resolve=resolve)
    assert egress.get(f"{name}/xrpc/x").status == 200
    assert lookups == ["pds.invalid"]  # one lookup per call: no second answer to rebind to
    assert f"Host: pds.invalid:{target.port}".encode() in target.requests[0]
    # The same name resolving to loopback without the allowlist is refused.
    assert refused(lambda: client(resolve=resolve).get(name)).code == "egress_address_refused"


def test_connections_are_kept_alive_per_origin_and_address(
    listener: Callable[..., Listener],
) -> None:
    target = listener(respond())
    egress = client(target.url)
    for _ in range(3):
        assert egress.post(f"{target.url}/xrpc/x", json={}).status == 200
    assert target.connections == 1
    assert len(target.requests) == 3


def test_an_answer_of_any_status_but_a_redirect_comes_back(
    listener: Callable[..., Listener],
) -> None:
    target = listener(respond("429 Too Many Requests", b'{"error": "RateLimit"}', {"A": "b"}))
    answer = client(target.url).get(target.url)
    assert (answer.status, answer.json(), answer.headers["a"]) == (429, {"error": "RateLimit"}, "b")


def test_a_closed_port_is_a_retryable_connect_failure(listener: Callable[..., Listener]) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    error = refused(lambda: client(f"http://127.0.0.1:{port}").get(f"http://127.0.0.1:{port}"))
    assert (error.code, error.retryable) == ("egress_connect_failed", True)


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_names_the_host_while_connecting_to_the_checked_address(
    listener: Callable[..., Listener], tmp_path: Path
) -> None:
    cert, key = _certificate(tmp_path, "pds.invalid")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []

    def sni(sock: Any, name: str | None, context: Any) -> None:
        names.append(name)

    server_tls.sni_callback = sni
    plain = respond(body=b'{"tls": true}')

    def behave(listener: Listener, conn: socket.socket) -> None:
        with server_tls.wrap_socket(conn, server_side=True) as wrapped:
            plain(listener, wrapped)

    target = listener(behave)
    loopback = resolving_to("127.0.0.1")
    trusting = ssl.create_default_context(cafile=str(cert))
    url = f"https://pds.invalid:{target.port}"
    settings = EgressConfig(allowed_origins=frozenset({origin(url)}))
    egress = Egress(settings, resolve=loopback, pool=ConnectionPool(), tls=trusting)
    assert egress.get(f"{url}/x").json() == {"tls": True}
    assert names == ["pds.invalid"]
    # A certificate for another name fails, though the address is the same.
    other = f"https://other.invalid:{target.port}"
    wrong = Egress(
        EgressConfig(allowed_origins=frozenset({origin(other)})),
        resolve=loopback,
        pool=ConnectionPool(),
        tls=trusting,
    )
    assert refused(lambda: wrong.get(other)).code == "egress_tls_failed"
