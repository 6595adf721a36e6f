from typing import Any

import pytest


@pytest.mark.django_db(transaction=True)
def test_chromium_renders_the_home_page(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/")
    assert page.title() == "Record a tape · Tapesite"
    assert page.locator(".site-name").inner_text().strip() == "Tapesite"
    assert page.evaluate("() => window.isSecureContext") is True
