"""The recorder library (static/tapes/tapes.js) when the site takes the connection and never
answers (a real loopback listener, no mocks): an API call fails with `timeout` after the post's
`stallSeconds`, and `take.cancel()` ends a post at once, the take kept and posted afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from tapes.models import Tape
from tests.recorder.conftest import open_library, wait_for_connection
from tests.support.listeners import Listener, silent

pytestmark = pytest.mark.django_db(transaction=True)

# A one-frame take of a tiny canvas, recorded and packed: window.take.
RECORDED = """async () => {
    const canvas = Object.assign(document.createElement('canvas'), {width: 8, height: 8});
    const take = window.take = Tapes.record(canvas, {mode: 'frames', piece: 'hang'});
    canvas.getContext('2d').fillRect(0, 0, 4, 4);
    await take.frame(100);
    await take.stop();
    return take.state;
}"""

# Start posting window.take to `site` (the listener); what happens is kept on window.outcome.
POST_TO = """([site, stallSeconds]) => {
    const started = performance.now();
    window.outcome = null;
    take.post({site, stallSeconds}).then(
        (answer) => { window.outcome = {posted: answer.code}; },
        (e) => {
            window.outcome = {code: e.code, step: e.step, details: e.details, state: take.state,
                              error: take.error && take.error.code, said: Tapes.describe(e),
                              ms: performance.now() - started};
        });
    return take.state;
}"""


def hanging_site(page: Any, live_server: Any, listener: Any, settings: Any) -> Listener:
    """A listener that takes connections and never answers, which the page may call (its origin
    in the site's connect-src), and the library imported into a page of the live server with a
    take recorded."""
    hung = listener(silent())
    policy = settings.CONTENT_SECURITY_POLICY
    connect = [*policy["connect-src"], hung.url]
    settings.CONTENT_SECURITY_POLICY = {**policy, "connect-src": connect}
    open_library(page, live_server)
    assert page.evaluate(RECORDED) == "recorded"
    return hung


def test_an_api_call_that_gets_no_answer_fails_with_timeout_in_the_stall_window(
    page: Any, live_server: Any, listener: Any, settings: Any
) -> None:
    hung = hanging_site(page, live_server, listener, settings)
    assert page.evaluate(POST_TO, [hung.url, 1]) == "posting"
    wait_for_connection(hung)
    page.wait_for_function("() => window.outcome", timeout=8_000)
    outcome = page.evaluate("() => outcome")
    # Not before the window, and not long after it.
    assert 1000 <= outcome.pop("ms") < 4000, outcome
    assert outcome == {
        "code": "timeout",
        "step": "start",
        "details": {"seconds": 1},
        "state": "failed",
        "error": "timeout",
        "said": "The site did not answer in time. Try again in a moment.",
    }
    invalid = page.evaluate(
        "async () => { try { await take.post({stallSeconds: 0}); } "
        "catch (e) { return [e.code, e.details.option, take.state]; } }"
    )
    assert invalid == ["option_invalid", "stallSeconds", "failed"]


def test_cancel_ends_a_post_at_once_and_the_take_posts_afterwards(
    page: Any, live_server: Any, listener: Any, settings: Any
) -> None:
    hung = hanging_site(page, live_server, listener, settings)
    assert page.evaluate(POST_TO, [hung.url, 30]) == "posting"
    wait_for_connection(hung)
    assert page.evaluate("() => take.cancel()") is True
    page.wait_for_function("() => window.outcome", timeout=2_000)
    outcome = page.evaluate("() => outcome")
    assert outcome["ms"] < 30_000
    del outcome["ms"]
    assert outcome == {
        "code": "post_cancelled",
        "step": "start",
        "details": None,
        "state": "recorded",
        "error": None,
        "said": "Posting was cancelled. The take is kept: post it again when you like.",
    }
    # Nothing under way any more: nothing to cancel.
    assert page.evaluate("() => take.cancel()") is False

    # The same take, posted to the site after all: exactly one tape.
    assert page.evaluate(POST_TO, [live_server.url, 30]) == "posting"
    page.wait_for_function("() => window.outcome", timeout=15_000)
    posted = page.evaluate("() => outcome")
    assert Tape.objects.get().code == posted["posted"]
    assert page.evaluate("() => take.state") == "posted"
