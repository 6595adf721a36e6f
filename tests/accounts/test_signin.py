"""Browser sign-in through the real provider, driven with requests (the provider's side) and
Django's test client (ours): code + PKCE, state and nonce, users keyed by sub, sign-out of both."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from django.test import Client

from accounts.models import User
from tests.support.oidc import API_AUDIENCE, OidcProvider, callback_path, login_form_shown

pytestmark = pytest.mark.django_db

ADA = {
    "name": "Ada Lovelace",
    "nickname": "ada",
    "email": "ada@example.com",
    "email_verified": True,
    "picture": "https://img.example/ada.png",
}


def start(client: Client, path: str = "/accounts/login/") -> str:
    response = client.get(path)
    assert response.status_code == 302, response.content[:300]
    return str(response["Location"])


def sign_in(
    client: Client, provider: OidcProvider, sub: str, browser: requests.Session | None = None
) -> Any:
    """Click "Sign in", sign in at the provider, come back: the callback's response."""
    authorize = start(client)
    back = provider.sign_in(browser or requests.Session(), authorize, sub)
    return client.get(callback_path(back))


def test_sign_in_goes_to_the_provider_with_pkce_state_nonce_and_audience(auth0: Any) -> None:
    url = urlparse(start(Client()))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == auth0.issuer + "authorize"
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["state"] and query["nonce"]
    assert query["audience"] == API_AUDIENCE
    assert query["redirect_uri"] == "http://testserver/accounts/callback/"
    assert set(query["scope"].split()) == {"openid", "profile", "email"}


def test_first_sign_in_makes_the_user_keyed_by_sub(auth0: OidcProvider) -> None:
    auth0.account("auth0|ada1", **ADA)
    client = Client()
    response = sign_in(client, auth0, "auth0|ada1")
    assert response.status_code == 302 and response["Location"] == "/me"
    user = User.objects.get(sub="auth0|ada1")
    assert (user.username, user.name, user.nickname) == ("ada", "Ada Lovelace", "ada")
    assert (user.email, user.picture) == (ADA["email"], ADA["picture"])
    assert not user.has_usable_password()
    me = client.get("/me")
    assert me.status_code == 200 and b"Ada Lovelace" in me.content


def test_the_next_sign_in_refreshes_the_profile_of_the_same_row(auth0: OidcProvider) -> None:
    auth0.account("auth0|ada2", **ADA)
    sign_in(Client(), auth0, "auth0|ada2")
    first = User.objects.get(sub="auth0|ada2")
    User.objects.filter(pk=first.pk).update(username="countess")  # the user renamed themself
    auth0.account(
        "auth0|ada2",
        name="Augusta Ada King",
        nickname="augusta",
        email="augusta@example.com",
        picture="https://img.example/augusta.png",
    )
    response = sign_in(Client(), auth0, "auth0|ada2")
    assert response.status_code == 302
    again = User.objects.get(sub="auth0|ada2")
    assert again.pk == first.pk and User.objects.filter(sub="auth0|ada2").count() == 1
    assert (again.name, again.nickname, again.email, again.picture) == (
        "Augusta Ada King",
        "augusta",
        "augusta@example.com",
        "https://img.example/augusta.png",
    )
    assert again.username == "countess"  # the username is the user's, not the provider's


def test_usernames_from_the_same_nickname_are_made_unique(auth0: OidcProvider) -> None:
    User.objects.create_user(username="Ada", password="pw")
    auth0.account("auth0|ada3", **ADA)
    auth0.account("auth0|ada4", **{**ADA, "nickname": "Ada!"})
    sign_in(Client(), auth0, "auth0|ada3")
    sign_in(Client(), auth0, "auth0|ada4")
    assert User.objects.get(sub="auth0|ada3").username == "ada-2"
    assert User.objects.get(sub="auth0|ada4").username == "ada-3"


def test_a_callback_with_another_state_is_refused(auth0: OidcProvider) -> None:
    auth0.account("auth0|st", nickname="st")
    client = Client()
    back = auth0.sign_in(requests.Session(), start(client), "auth0|st")
    forged = back.replace("state=", "state=x")
    response = client.get(callback_path(forged))
    assert response.status_code == 400 and b'data-code="sign_in_expired"' in response.content
    assert not User.objects.filter(sub="auth0|st").exists()
    assert "_auth_user_id" not in client.session


def test_a_callback_cannot_be_replayed(auth0: OidcProvider) -> None:
    auth0.account("auth0|rp", nickname="rp")
    client = Client()
    back = auth0.sign_in(requests.Session(), start(client), "auth0|rp")
    assert client.get(callback_path(back)).status_code == 302
    other = Client()
    replay = other.get(callback_path(back))
    assert replay.status_code == 400
    assert "_auth_user_id" not in other.session


def test_an_id_token_with_another_nonce_is_refused(auth0: OidcProvider) -> None:
    auth0.account("auth0|nn", nickname="nn")
    client = Client()
    back = auth0.sign_in(requests.Session(), start(client), "auth0|nn")
    # What the session expects is no longer what the provider put in the ID token.
    session = client.session
    key = next(k for k in session.keys() if k.startswith("_state_auth0_"))  # noqa: SIM118
    state = session[key]
    state["data"]["nonce"] = "not-the-nonce-we-sent"
    session[key] = state
    session.save()
    response = client.get(callback_path(back))
    assert response.status_code == 400 and b"sign_in_failed" in response.content
    assert not User.objects.filter(sub="auth0|nn").exists()


def test_a_refused_consent_is_a_clear_page_not_an_error(
    auth0: OidcProvider, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    start(client)
    state = next(k for k in client.session.keys() if k.startswith("_state_auth0_"))  # noqa: SIM118
    response = client.get(
        f"/accounts/callback/?error=access_denied&error_description=nope&state={state[13:]}"
    )
    assert response.status_code == 400
    assert b'data-code="sign_in_cancelled"' in response.content
    assert b"Signing in was cancelled" in response.content
    assert b"nope" not in response.content
    assert "nope" in caplog.text  # the provider's words are kept for whoever reads the logs
    # The way back says where it leads: signing in goes to Auth0 here.
    assert b'href="/accounts/login/">Continue with Auth0</a>' in response.content


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("access_denied", "sign_in_cancelled"),
        ("server_error", "sign_in_failed"),
        ("made_up_by_someone", "sign_in_failed"),
    ],
)
def test_the_providers_error_text_never_reaches_the_page(
    auth0: OidcProvider, error: str, code: str
) -> None:
    """Anyone can send a person a callback link: its error_description must not become the
    site's words (a phishing line, or markup)."""
    client = Client()
    start(client)
    state = next(k for k in client.session.keys() if k.startswith("_state_auth0_"))  # noqa: SIM118
    bait = "Your account is locked. Call +1 555 0100 <b>now</b>"
    query = urlencode({"error": error, "error_description": bait, "state": state[13:]})
    response = client.get(f"/accounts/callback/?{query}")
    assert response.status_code == 400
    assert f'data-code="{code}"'.encode() in response.content
    assert b"555 0100" not in response.content and b"locked" not in response.content
    assert error.encode() not in response.content or error == "access_denied"
    assert "_auth_user_id" not in client.session


def test_a_real_refusal_by_the_provider_gets_a_fixed_sentence(auth0: OidcProvider) -> None:
    """The provider itself refuses: asked not to show its login page (prompt=none) to someone
    without a session there, it sends them back with login_required and its own description."""
    client = Client()
    authorize = start(client) + "&prompt=none"
    answer = requests.get(authorize, allow_redirects=False, timeout=10)
    location = answer.headers.get("Location", "")
    query = parse_qs(urlparse(location).query)
    assert query.get("error") == ["login_required"], (answer.status_code, location)
    description = query["error_description"][0]
    response = client.get(callback_path(location))
    assert response.status_code == 400
    assert b'data-code="sign_in_cancelled"' in response.content
    assert description.encode() not in response.content


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/me",
        "http://testserver.evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_to_another_host_is_refused(auth0: OidcProvider, target: str) -> None:
    auth0.account("auth0|nx", nickname="nx")
    client = Client()
    authorize = start(client, f"/accounts/login/?next={requests.utils.quote(target)}")
    response = client.get(callback_path(auth0.sign_in(requests.Session(), authorize, "auth0|nx")))
    assert response.status_code == 302 and response["Location"] == "/me"


def test_next_to_our_own_path_is_kept(auth0: OidcProvider) -> None:
    auth0.account("auth0|nk", nickname="nk")
    client = Client()
    authorize = start(client, "/accounts/login/?next=/tapes%3Fpage%3D2")
    response = client.get(callback_path(auth0.sign_in(requests.Session(), authorize, "auth0|nk")))
    assert response["Location"] == "/tapes?page=2"


def test_sign_out_ends_our_session_and_the_providers(auth0: OidcProvider) -> None:
    auth0.account("auth0|so", nickname="so")
    client, browser = Client(), requests.Session()
    sign_in(client, auth0, "auth0|so", browser)
    # While signed in at the provider, signing in again needs no form (single sign-on)...
    assert auth0.sign_in(browser, start(Client()), None).startswith("http://testserver/")

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    logout = urlparse(response["Location"])
    assert f"{logout.scheme}://{logout.netloc}{logout.path}" == auth0.issuer + "oidc/logout"
    query = parse_qs(logout.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert "_auth_user_id" not in client.session
    assert client.get("/me").status_code == 302  # our session is gone

    assert auth0.sign_out(browser, response["Location"]) == "http://testserver/"
    # ...and after signing out, the provider asks again: its session is gone too.
    page = browser.get(start(Client()), timeout=10)
    assert login_form_shown(page.text)


def test_sign_out_is_a_post(auth0: OidcProvider) -> None:
    auth0.account("auth0|sp", nickname="sp")
    client = Client()
    sign_in(client, auth0, "auth0|sp")
    assert client.get("/accounts/logout/").status_code == 200  # a confirmation page
    assert client.get("/me").status_code == 200  # still signed in
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post("/accounts/logout/").status_code == 403  # no CSRF token, no sign-out


def test_sign_up_with_auth0_opens_its_sign_up_screen(auth0: OidcProvider) -> None:
    client = Client()
    response = client.get("/accounts/signup/?next=/tapes")
    assert response.status_code == 302
    authorize = client.get(response["Location"])
    query = parse_qs(urlparse(authorize["Location"]).query)
    assert query["screen_hint"] == ["signup"]


def test_an_unreachable_provider_is_a_clear_503(settings: Any) -> None:
    from accounts import auth0 as auth0_module

    settings.AUTH0_ISSUER = "http://127.0.0.1:9/"  # nothing listens on the discard port
    settings.AUTH0_CLIENT_ID, settings.AUTH0_CLIENT_SECRET = "c", "s"
    settings.AUTH0_AUDIENCE = API_AUDIENCE
    auth0_module.oauth_client_reset()
    response = Client().get("/accounts/login/")
    assert response.status_code == 503
    assert b"auth_provider_unavailable" in response.content


def test_auth0s_classic_logout_url_ends_the_providers_session_too(auth0: OidcProvider) -> None:
    from urllib.parse import urlencode

    from accounts import auth0 as auth0_module

    auth0.account("auth0|v2", nickname="v2")
    browser = requests.Session()
    sign_in(Client(), auth0, "auth0|v2", browser)
    config = auth0_module.auth0_config()
    assert config is not None
    # Without an end_session_endpoint in the metadata, sign-out uses Auth0's /v2/logout.
    classic = f"{auth0.issuer}v2/logout?" + urlencode(
        {"client_id": config.client_id, "returnTo": "http://testserver/"}
    )
    auth0_module.cache.set(
        f"{config.cache_prefix}:metadata",
        {k: v for k, v in auth0_module.metadata(config).items() if k != "end_session_endpoint"},
        60,
    )
    assert auth0_module.logout_url(config, return_to="http://testserver/", id_token=None) == classic
    assert auth0.sign_out(browser, classic) == "http://testserver/"
    assert login_form_shown(browser.get(start(Client()), timeout=10).text)
