"""Which addresses the egress client refuses, and what an origin is (pure)."""

from __future__ import annotations

import pytest

from tapesite.egress.addresses import OriginError, address_refusal, origin, origins


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.254", "shared (CGNAT)"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("255.255.255.255", "private"),
        ("240.0.0.1", "private"),
        ("192.0.2.1", "private"),  # documentation
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),
        ("::ffff:127.0.0.1", "embeds 127.0.0.1: loopback"),
        ("::ffff:169.254.169.254", "embeds 169.254.169.254: link-local"),
        ("2002:0a00:0001::", "embeds 10.0.0.1: private"),  # 6to4
        ("64:ff9b::7f00:1", "embeds 127.0.0.1: loopback"),  # NAT64
        ("not-an-ip", "not an IP address"),
    ],
)
def test_internal_addresses_are_refused(address: str, reason: str) -> None:
    assert address_refusal(address) == reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]
)
def test_global_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:2583", "http://127.0.0.1:2583"),
        ("http://LOCALHOST:2583/xrpc/x?y=1", "http://localhost:2583"),
        ("https://pds.example.com/", "https://pds.example.com:443"),
        ("http://pds.example.com", "http://pds.example.com:80"),
        ("https://[::1]:8443/a", "https://[::1]:8443"),
        ("https://example.com.:443", "https://example.com:443"),
    ],
)
def test_an_origin_is_scheme_host_and_port(url: str, expected: str) -> None:
    assert origin(url) == expected


def test_origins_of_a_setting_skip_blanks() -> None:
    assert origins(["http://127.0.0.1:1/", " ", "https://a.example"]) == {
        "http://127.0.0.1:1",
        "https://a.example:443",
    }


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "file:///etc/passwd", "https://", "http://u:p@example.com/", "x"],
)
def test_what_is_no_http_url_has_no_origin(url: str) -> None:
    with pytest.raises(OriginError):
        origin(url)
