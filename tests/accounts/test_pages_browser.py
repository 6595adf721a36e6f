"""The site's own sign-in and sign-up pages (no Auth0 configured) in headless Chromium, at
desktop and phone sizes: styled inputs, errors beside their field, a phone that does not scroll
sideways."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.support.browser import save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# The field input's look, read back from the browser: forms.css's, not the browser's default.
_LOOK = """(selector) => {
    const s = getComputedStyle(document.querySelector(selector));
    return {background: s.backgroundColor, radius: s.borderTopLeftRadius,
            border: s.borderTopColor, height: parseFloat(s.height)};
}"""


@pytest.fixture(params=["desktop", "phone"])
def screen(request: pytest.FixtureRequest, browser: Any) -> Any:
    phone = request.param == "phone"
    context = browser.new_context(
        viewport=PHONE if phone else DESKTOP, is_mobile=phone, has_touch=phone
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.screen_name = request.param
    yield tab
    context.close()


def _overflows(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth > innerWidth + 1"))


def test_sign_in_is_a_styled_card_and_signs_in(screen: Any, live_server: Any) -> None:
    User.objects.create_user(username="ada", password="a long pass phrase")
    page = screen
    page.goto(live_server.url + "/accounts/login/?next=/tapes")
    card = page.locator(".form-card")
    expect(card).to_be_visible()
    for selector in ("#id_username", "#id_password"):
        look = page.evaluate(_LOOK, selector)
        assert look["background"] == "rgb(12, 13, 17)", look  # the site's, not white
        assert look["radius"] == "10px" and look["height"] >= 44, look
    assert page.get_attribute("#id_username", "autocomplete") == "username"
    assert page.get_attribute("#id_password", "autocomplete") == "current-password"
    # The focus ring of the site.
    page.focus("#id_password")
    ring = page.evaluate("() => getComputedStyle(document.activeElement).boxShadow")
    assert ring != "none", ring
    assert page.get_by_role("link", name="Create an account").get_attribute("href") == (
        "/accounts/signup/?next=/tapes"
    )
    assert not _overflows(page)
    box = card.bounding_box()
    viewport = page.viewport_size
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    save_screenshot(page, f"signin-{page.screen_name}")

    # A wrong password: said above the form, the fields keep their look.
    page.fill("#id_username", "ada")
    page.fill("#id_password", "wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".notice-error")).to_contain_text("correct username and password")
    page.fill("#id_password", "a long pass phrase")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/tapes")
    assert page.inner_text("a.account-me") == "ada"


def test_an_invalid_sign_up_shows_each_error_beside_its_field(
    screen: Any, live_server: Any
) -> None:
    User.objects.create_user(username="taken", password="a long pass phrase")
    page = screen
    page.goto(live_server.url + "/accounts/signup/")
    assert page.evaluate(_LOOK, "#id_password1")["background"] == "rgb(12, 13, 17)"
    assert page.get_attribute("#id_password1", "autocomplete") == "new-password"
    assert page.get_attribute("#id_email", "autocomplete") == "email"
    hint = page.locator("#id_username_helptext")
    assert "letters, digits" in hint.inner_text()
    assert "id_username_helptext" in (page.get_attribute("#id_username", "aria-describedby") or "")

    page.fill("#id_username", "fresh")
    page.fill("#id_password1", "a long pass phrase")
    page.fill("#id_password2", "another pass phrase")
    page.get_by_role("button", name="Sign up").click()
    error = page.locator("#id_password2_error")
    expect(error).to_have_text("The two passwords differ.")
    field = page.locator("#id_password2")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.id") == "id_password2"  # fix this one
    assert "id_password2_error" in (field.get_attribute("aria-describedby") or "")
    # Beside its field: right under the input, inside the same .field, not at the top.
    under, message = field.bounding_box(), error.bounding_box()
    assert under and message
    assert 0 <= message["y"] - (under["y"] + under["height"]) < 24
    assert abs(message["x"] - under["x"]) < 2
    assert page.evaluate(_LOOK, "#id_password2")["border"] == "rgb(255, 0, 77)"
    # What was typed stays (but not the passwords), and nothing else is marked wrong.
    assert page.input_value("#id_username") == "fresh"
    assert page.locator(".field-error").count() == 1
    assert not _overflows(page)
    save_screenshot(page, f"signup-error-{page.screen_name}")

    page.fill("#id_username", "taken")
    page.fill("#id_password1", "a long pass phrase")
    page.fill("#id_password2", "a long pass phrase")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#id_username_error")).to_be_visible()
    page.fill("#id_username", "fresh")
    page.fill("#id_password1", "a long pass phrase")
    page.fill("#id_password2", "a long pass phrase")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(live_server.url + "/me")
    assert User.objects.filter(username="fresh").exists()
