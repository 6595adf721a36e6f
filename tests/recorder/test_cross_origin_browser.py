"""The examples/ pages (another website using Tapesite's library) in headless Chromium, served
from a loopback port of their own, with the library loaded from Tapesite by absolute URL as
?tapesite= says. A registered site's page posts (CORS answers for its origin, the tape records
where it came from, the ZIP lands in real S3 storage); an unregistered or suspended one is
refused before any upload slot exists, and the page shows why."""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from tapes import services
from tapes.archive import inspect_archive
from tapes.models import Tape, TapeUpload
from tapes.services import buckets_setup
from tests.sites.factories import SiteFactory
from tests.support.browser import save_screenshot
from tests.support.buckets import use_own_buckets

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FRAMES = 48  # examples/frames.js
SEED = "2046"  # its default seed
PHONE = {"width": 390, "height": 844}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's output is not the place for an access log


@pytest.fixture
def examples_site() -> Iterator[str]:
    """examples/ served as `python -m http.server -d examples` would, on 127.0.0.1: another
    origin than Tapesite's (Chromium lets loopback pages call loopback servers only from a real
    listener). Yields its origin."""
    handler = functools.partial(_Quiet, directory=str(EXAMPLES))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def buckets(s3_storage: Any, settings: Any) -> Any:
    """Buckets of this module's own on the real SeaweedFS (their CORS rule is rewritten here,
    and must touch no other test's). Returns the S3 client."""
    return use_own_buckets(settings, user="xorigin-user", guest="xorigin-guest")


# What the page's status line says, each change kept in order.
WATCH_STATUS = """() => {
    window.statusSaid = [];
    const status = document.getElementById('status');
    new MutationObserver(() => {
        const text = status.textContent;
        if (text && text !== window.statusSaid.at(-1)) window.statusSaid.push(text);
    }).observe(status, {childList: true, characterData: true, subtree: true});
}"""


def open_frames(page: Any, examples_site: str, tapesite: str) -> str:
    url = f"{examples_site}/frames.html?tapesite={tapesite}"
    page.goto(url)
    page.wait_for_selector("main[data-state=idle]")
    return url


def record_and_post(page: Any) -> str:
    page.click("#record")
    page.wait_for_selector("main[data-state=posted], main[data-state=failed]", timeout=60_000)
    return str(page.get_attribute("main", "data-state"))


def api_responses(page: Any) -> list[Any]:
    seen: list[Any] = []
    page.on("response", lambda response: seen.append(response))
    return seen


def check_cors(responses: list[Any], origin: str) -> list[str]:
    """The API's answers as the page got them: for this origin only, never with cookies."""
    checked = []
    for response in responses:
        if "/api/tapes" not in response.url:
            continue
        headers = response.all_headers()
        assert headers.get("access-control-allow-origin") == origin, response.url
        assert "origin" in headers.get("vary", "").lower(), response.url
        assert "access-control-allow-credentials" not in headers, response.url
        checked.append(f"{response.request.method} {response.url.split('?')[0]}")
    return checked


def test_a_registered_sites_frames_page_posts_a_guest_tape_to_s3(
    page: Any, whitenoise_server: str, examples_site: str, buckets: Any, tmp_path: Path
) -> None:
    site = SiteFactory(origin=examples_site, name="Examples")
    # What saving the site in the admin queues: the buckets let this origin POST the form.
    buckets_setup()
    responses = api_responses(page)
    url = open_frames(page, examples_site, whitenoise_server)
    page.evaluate(WATCH_STATUS)

    assert record_and_post(page) == "posted", page.inner_text("#failed")
    said = page.evaluate("() => window.statusSaid")
    # Every frame counted, then the library's progress events, step by step.
    assert f"Recording frame {FRAMES} of {FRAMES}" in said
    steps = [line.split("…")[0] for line in said if line.endswith("%")]
    assert steps[0] == "Asking Tapesite for an upload slot" and steps[-1] == "Registering", said
    assert "Uploading… 100%" in said, said
    code = page.get_attribute("#posted", "data-code")
    tape = Tape.objects.get(code=code)
    assert page.get_attribute("#posted-link", "href") == f"{whitenoise_server}/t/{code}"
    assert (tape.site, tape.origin) == (site, examples_site)
    assert tape.piece_url == url
    assert (tape.source, tape.seed) == (f"{examples_site}/frames.js", SEED)
    assert tape.user is None and tape.piece == "orbits"

    # A guest's tape: the claim link rides the token in its fragment, and the library kept the
    # claim in this origin's localStorage.
    claim = page.get_attribute("#claim-link", "href")
    assert page.is_visible("#claim-link")
    assert claim.startswith(f"{whitenoise_server}/claim?code={code}#token=")
    kept = page.evaluate("() => JSON.parse(localStorage.getItem('tapes.claims'))")
    assert [(k["site"], k["code"]) for k in kept] == [(whitenoise_server, code)]

    assert check_cors(responses, examples_site) == [
        f"POST {whitenoise_server}/api/tapes/uploads",
        f"POST {whitenoise_server}/api/tapes",
    ]
    # The ZIP is in the guest bucket, a valid tape of every frame drawn.
    assert tape.bucket == django_settings.TAPES_GUEST_BUCKET == "xorigin-guest"
    stored = tmp_path / "stored.zip"
    tape = services.tape_zip_take(tape=tape)  # the encode job's first step
    buckets.download_file(tape.bucket, tape.zip_key, str(stored))
    info = inspect_archive(stored)
    assert info.frames == FRAMES and info.discrepancies == ()

    save_screenshot(page, "examples-frames-posted-desktop")
    page.set_viewport_size(PHONE)
    save_screenshot(page, "examples-frames-posted-phone")


def test_a_site_with_a_guest_owner_posts_as_that_account(
    page: Any, whitenoise_server: str, examples_site: str, buckets: Any, user: Any
) -> None:
    SiteFactory(origin=examples_site, guest_owner=user)
    buckets_setup()
    open_frames(page, examples_site, whitenoise_server)
    assert record_and_post(page) == "posted", page.inner_text("#failed")
    tape = Tape.objects.get(code=page.get_attribute("#posted", "data-code"))
    assert tape.user == user
    tape = services.tape_zip_take(tape=tape)  # the encode job's first step
    assert tape.bucket == "xorigin-user" and tape.zip_key.startswith(f"users/{user.pk}/")
    buckets.head_object(Bucket=tape.bucket, Key=tape.zip_key)
    # Nothing to claim: the page says nothing of it, and keeps nothing.
    assert not page.is_visible("#claim")
    assert page.evaluate("() => localStorage.getItem('tapes.claims')") is None


REFUSALS = {
    "origin_not_registered": "This site is not registered with Tapesite, so it cannot post tapes.",
    "site_suspended": "Posting from this site is suspended.",
}


@pytest.mark.parametrize("code", list(REFUSALS))
def test_a_refused_origin_is_told_why_and_gets_no_upload_slot(
    page: Any, whitenoise_server: str, examples_site: str, code: str
) -> None:
    if code == "site_suspended":
        SiteFactory(origin=examples_site, name="Examples", active=False)
    responses = api_responses(page)
    open_frames(page, examples_site, whitenoise_server)

    assert record_and_post(page) == "failed"
    assert page.get_attribute("#failed", "data-code") == code
    assert page.inner_text("#reason") == REFUSALS[code]
    # The site's own sentence names the origin refused.
    assert examples_site in page.inner_text("#said")
    assert page.is_visible("#retry")
    assert check_cors(responses, examples_site) == [f"POST {whitenoise_server}/api/tapes/uploads"]
    assert not TapeUpload.objects.exists()
    assert not Tape.objects.exists()

    # Retry posts again (still refused: nothing changed), and still creates nothing.
    page.click("#retry")
    page.wait_for_selector("main[data-state=failed]")
    assert len(check_cors(responses, examples_site)) == 2
    assert not TapeUpload.objects.exists()

    if code == "origin_not_registered":
        save_screenshot(page, "examples-frames-refused-desktop")
        page.set_viewport_size(PHONE)
        save_screenshot(page, "examples-frames-refused-phone")


def test_the_spinner_page_posts_through_the_element(
    page: Any, whitenoise_server: str, examples_site: str, buckets: Any
) -> None:
    # The <tape-recorder> element's documented API (static/tapes/tape-recorder.js): its state
    # attribute, Record, Stop and POST in its open shadow root, and tape-posted on the page.
    SiteFactory(origin=examples_site, name="Examples")
    buckets_setup()
    page.goto(f"{examples_site}/?tapesite={whitenoise_server}&seed=7")
    recorder = page.locator("tape-recorder")
    page.wait_for_selector("tape-recorder[state=idle]")
    assert page.inner_text("#seed") == "7"
    recorder.locator("button.record").click()
    page.wait_for_selector("tape-recorder[state=recording]")
    page.wait_for_timeout(700)
    recorder.locator("button.stop").click()
    page.wait_for_selector("tape-recorder[state=recorded]", timeout=30_000)
    recorder.locator("button.post").click()
    page.wait_for_selector("tape-recorder[state=posted]", timeout=30_000)

    tape = Tape.objects.get()
    heard = f"This page heard tape-posted: !{tape.code} at {whitenoise_server}/t/{tape.code}"
    assert page.inner_text("#log") == heard
    assert tape.piece == "spinner" and tape.seed == "7"
    assert tape.piece_url == f"{examples_site}/?tapesite={whitenoise_server}&seed=7"
    tape = services.tape_zip_take(tape=tape)  # the encode job's first step
    assert tape.bucket == "xorigin-guest"
    buckets.head_object(Bucket=tape.bucket, Key=tape.zip_key)
    save_screenshot(page, "examples-spinner-posted-desktop")
    page.set_viewport_size(PHONE)
    save_screenshot(page, "examples-spinner-posted-phone")


def test_storage_that_does_not_allow_the_origin_yet_is_said_then_retry_posts(
    page: Any, whitenoise_server: str, examples_site: str, buckets: Any
) -> None:
    # The buckets' CORS is written before the site is registered (as if the job that follows a
    # registration had not run yet): the browser blocks the form, and the page says where.
    buckets_setup()
    SiteFactory(origin=examples_site)
    open_frames(page, examples_site, whitenoise_server)
    assert record_and_post(page) == "failed"
    assert page.get_attribute("#failed", "data-code") == "network"
    storage = buckets.meta.endpoint_url.rstrip("/")
    said = page.inner_text("#said")
    assert (
        said == f"Storage at {storage} could not be reached, or did not allow this page's origin."
    )
    assert not Tape.objects.exists()

    buckets_setup()  # the job runs
    page.click("#retry")
    page.wait_for_selector("main[data-state=posted], main[data-state=failed]", timeout=60_000)
    assert page.get_attribute("main", "data-state") == "posted", page.inner_text("#failed")
    assert Tape.objects.get().origin == examples_site


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("page_name", ["frames.html", "index.html"])
def test_the_pages_say_when_tapesite_is_not_there(
    page: Any, examples_site: str, page_name: str
) -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    page.goto(f"{examples_site}/{page_name}?tapesite={nowhere}")
    shown = page.wait_for_selector("#load-error:not([hidden])")
    assert f"could not be loaded from {nowhere}" in shown.inner_text()
    assert "Is Tapesite running there?" in shown.inner_text()

    page.goto(f"{examples_site}/{page_name}?tapesite=not-an-address")
    shown = page.wait_for_selector("#load-error:not([hidden])")
    assert (
        shown.inner_text() == "?tapesite= must be Tapesite's address, like http://127.0.0.1:8000."
    )
    if page_name == "frames.html":
        assert page.get_attribute("main", "data-state") == "unavailable"
        assert page.is_disabled("#record")
