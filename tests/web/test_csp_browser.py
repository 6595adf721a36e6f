"""The site's pages under its own Content-Security-Policy in headless Chromium: nothing refused
(no inline script or style left, every static file and medium from an allowed origin), framing
refused except where a view opts in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from tapes.models import TapeStatus
from tapesite.headers import CSP_HEADER, allow_framing, build_policy, serialize
from tapesite.urls import urlpatterns as site_urls
from tests.support.browser import CspWatch
from tests.support.synth import make_tape as make_synth_tape
from tests.web.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_main_pages_break_no_rule_of_the_policy(
    page: Any, live_server: Any, make_tape: Any, moderator: Any, tmp_path: Path
) -> None:
    synth = make_synth_tape(tmp_path / "t.zip", frames=10, width=64, height=48, scale=1, seed=2)
    ready = make_tape(media=True, user=moderator)
    playing = make_tape(
        status=TapeStatus.PROCESSING,
        zip_content=synth.path.read_bytes(),
        frames=10,
        width=64,
        height=48,
    )
    csp = CspWatch(page)
    visited: dict[str, list[str]] = {}

    def visit(url: str, ready_selector: str | None = None) -> None:
        response = page.goto(live_server.url + url)
        assert response is not None and response.ok, url
        assert CSP_HEADER.lower() in response.headers
        if ready_selector:
            page.locator(ready_selector).first.wait_for()
        page.wait_for_load_state("networkidle")
        visited[url] = csp.violations()

    visit("/", "#recorder[data-ready=true]")
    visit("/tapes", "a.card-link img")
    visit(f"/t/{ready.code}")
    visit(f"/t/{playing.code}", "#tape[data-zip-playback=playing]")
    visit("/accounts/login/", "form.account-form")
    visit("/accounts/signup/", "form.account-form")
    visit("/admin/login/", "#login-form")
    visit("/api/schema/docs/", ".swagger-ui .info")
    sign_in(page, live_server, moderator)
    visit(f"/u/{moderator.username}", "a.card-link")
    visit("/me")
    visit("/admin/", "#operations-module")
    visit("/admin/tapes/tape/", "#result_list")
    visit(f"/admin/tapes/tape/{ready.pk}/change/", "#tape_form")
    assert csp.violations() == [], visited


def test_the_recorder_records_and_posts_under_the_policy(page: Any, live_server: Any) -> None:
    """Local storage: the upload goes to the site itself."""
    from tests.web.conftest import record_take

    csp = CspWatch(page)
    page.goto(live_server.url + "/")
    record_take(page, 0.5)
    page.get_by_role("button", name="POST").click()
    page.locator("#posted").wait_for()
    assert csp.violations() == []


def framed_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>embedded</p>")


def framer_view(request: HttpRequest) -> HttpResponse:
    """Another site's page that embeds both views (reached as 127.0.0.1, another origin than
    the live server's localhost)."""
    target = request.GET["target"]
    response = HttpResponse(
        f'<iframe id="yes" src="{target}/embed-test"></iframe>'
        f'<iframe id="no" src="{target}/not-embeddable-test"></iframe>'
    )
    response[CSP_HEADER] = "frame-src *"  # its own policy, which the middleware keeps
    return response


embeddable = allow_framing("*")(framed_view)
urlpatterns = [
    path("embed-test", embeddable),
    path("not-embeddable-test", framed_view),
    path("framer-test", framer_view),
    *site_urls,
]


@pytest.mark.urls("tests.web.test_csp_browser")
def test_pages_refuse_framing_unless_the_view_allows_it() -> None:
    client = Client()
    closed = client.get("/not-embeddable-test")
    assert "frame-ancestors 'none'" in closed[CSP_HEADER]
    assert closed["X-Frame-Options"] == "DENY"
    opened = client.get("/embed-test")
    policy = opened[CSP_HEADER]
    assert "frame-ancestors *" in policy
    assert "'none'" not in policy.split("frame-ancestors", 1)[1]
    assert "X-Frame-Options" not in opened
    # The rest of the policy is untouched.
    assert "script-src 'self'" in policy and "object-src 'none'" in policy


@pytest.mark.urls("tests.web.test_csp_browser")
def test_an_embeddable_view_really_loads_in_a_frame_and_others_do_not(
    page: Any, live_server: Any
) -> None:
    framer = live_server.url.replace("localhost", "127.0.0.1")
    assert framer != live_server.url
    page.goto(f"{framer}/framer-test?target={live_server.url}")
    yes = page.frame_locator("#yes").locator("p")
    assert yes.inner_text(timeout=10_000) == "embedded"
    page.wait_for_timeout(500)
    # Chromium shows its own "content is blocked" page in place of the refused one.
    refused = page.frame_locator("#no").locator("body")
    assert "embedded" not in refused.inner_text(timeout=10_000)


def test_allow_framing_needs_an_origin() -> None:
    with pytest.raises(ValueError):
        allow_framing()


def test_the_policy_adds_storage_and_the_sign_in_provider_where_they_belong() -> None:
    policy = build_policy(
        {
            "img-src": ["'self'"],
            "media-src": ["'self'"],
            "connect-src": ["'self'"],
            "script-src": ["'self'"],
            "form-action": ["'self'"],
        },
        storage=["https://s3.example"],
        sign_in=["https://login.example"],
    )
    assert policy["connect-src"] == ["'self'", "https://s3.example"]
    assert policy["media-src"] == ["'self'", "https://s3.example"]
    assert policy["img-src"] == ["'self'", "https://s3.example"]
    assert policy["script-src"] == ["'self'"]  # never scripts from storage
    assert policy["form-action"] == ["'self'", "https://login.example"]
    assert serialize(policy).startswith("img-src 'self' https://s3.example; media-src")


def test_the_site_derives_storage_and_provider_origins_from_its_settings(
    s3_storage: Any, settings: Any
) -> None:
    settings.AUTH0_DOMAIN = "tapesite.eu.auth0.com"
    settings.AUTH0_CLIENT_ID = "x"
    policy = Client().get("/tapes")[CSP_HEADER]
    directives = {d.split(" ", 1)[0]: d.split(" ")[1:] for d in policy.split("; ")}
    assert s3_storage.endpoint in directives["connect-src"]
    assert s3_storage.endpoint in directives["media-src"]
    assert s3_storage.endpoint not in directives["script-src"]
    assert directives["form-action"] == ["'self'", "https://tapesite.eu.auth0.com"]
