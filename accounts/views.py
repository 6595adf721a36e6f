"""Account pages: sign-in (Auth0 or the site's own), its callback, sign-out, sign-up, and /me.

/me is an edge, like the APIs and the other pages: it composes what the tapes and federation apps
know of the person's tapes. Nothing below the pages imports this module.

The same sign-in and sign-up buttons work either way: with Auth0 configured they go to Auth0
(authorization code + PKCE, state and nonce checked by authlib), otherwise to Django's forms.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.common.errors import AuthlibBaseError
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import password_validation
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from joserfc.errors import JoseError

from accounts import auth0, services
from accounts.models import User
from federation.selectors import atproto_account_get, tape_at_record, tape_federation_summary
from federation.services import tape_federation_retry as federation_retry
from tapes import selectors as tape_selectors
from tapes.models import Tape, TapeStatus, TapeVisibility
from tapes.presenters import tape_media
from tapes.services import tape_reencode, undo_deadline, undo_window_words
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
_NEXT = "accounts.next"
_ID_TOKEN = "accounts.id_token"
_SIGNED_IN_WITH = "accounts.signed_in_with"


def safe_next(request: HttpRequest, value: str | None, default: str) -> str:
    """``value`` if it is a path on this site, else ``default``: sign-in never becomes a way to
    send someone elsewhere (no other host, no scheme, no protocol-relative //host)."""
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return value
    return default


def _me() -> str:
    return reverse("accounts:me")


def _problem(request: HttpRequest, error: TapesiteError, status: int | None = None) -> HttpResponse:
    return render(
        request,
        "accounts/problem.html",
        {
            "code": error.code,
            "message": error.message,
            # Signing in goes to Auth0 when it is configured: the button says so.
            "auth0": auth0.auth0_config() is not None,
        },
        status=status or error.status,
    )


class LocalLoginView(LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return _me()


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponseBase:
    config = auth0.auth0_config()
    if config is None:
        return LocalLoginView.as_view()(request)
    target = safe_next(request, request.GET.get("next"), _me())
    if request.user.is_authenticated:
        return HttpResponseRedirect(target)
    request.session[_NEXT] = target
    extra = {"audience": config.audience}
    if request.GET.get("screen_hint") == "signup":
        extra["screen_hint"] = "signup"  # Auth0 opens on its sign-up form
    try:
        return auth0.oauth_client(config).authorize_redirect(
            request, request.build_absolute_uri(reverse("accounts:callback")), **extra
        )
    except (requests.RequestException, TapesiteError, AuthlibBaseError) as exc:
        return _problem(request, auth0.provider_unavailable("authorize", exc))


# What the person is told when the callback is refused, per the OAuth error (the provider's
# ``error``, or authlib's own for a state it does not know).
_SIGN_IN_REFUSALS: dict[str, tuple[str, str]] = {
    "access_denied": (
        "sign_in_cancelled",
        "Signing in was cancelled, or the sign-in service did not allow it. Try again when ready.",
    ),
    "mismatching_state": (
        "sign_in_expired",
        "This sign-in link had expired or was already used. Start signing in again.",
    ),
    "login_required": (
        "sign_in_cancelled",
        "The sign-in service needs you to sign in there first. Try again.",
    ),
}
_SIGN_IN_FAILED = ("sign_in_failed", "Signing in did not complete. Try again.")


def sign_in_refusal(error: str) -> TapesiteError:
    code, message = _SIGN_IN_REFUSALS.get(error, _SIGN_IN_FAILED)
    return TapesiteError(code, message, status=400)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    config = auth0.auth0_config()
    if config is None:
        raise Http404("Auth0 is not configured")
    try:
        token = auth0.oauth_client(config).authorize_access_token(request)
    except (AuthlibBaseError, JoseError) as exc:
        # A wrong or replayed state, a nonce that does not match, a refused consent... The
        # provider's words (error_description) arrive in the query, where anyone can write
        # them: they go to the log, and the person reads a fixed sentence.
        error = str(getattr(exc, "error", "") or type(exc).__name__)
        logger.info(
            "sign-in callback refused: %s %r", error, getattr(exc, "description", None) or exc
        )
        return _problem(request, sign_in_refusal(error), status=400)
    except requests.RequestException as exc:
        return _problem(request, auth0.provider_unavailable("token", exc))
    claims = token.get("userinfo") or {}
    try:
        user = services.user_from_claims(
            sub=str(claims.get("sub") or ""), profile=services.profile_from_claims(claims)
        )
    except TapesiteError as exc:
        return _problem(request, exc)
    if not user.is_active:
        return _problem(request, TapesiteError("user_inactive", "This account is disabled."), 403)
    target = safe_next(request, request.session.pop(_NEXT, None), _me())
    auth_login(request, user, backend=MODEL_BACKEND)
    # Kept for sign-out: it lets the provider end its session without asking.
    request.session[_ID_TOKEN] = token.get("id_token")
    request.session[_SIGNED_IN_WITH] = "auth0"
    return HttpResponseRedirect(target)


@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # Signing out changes state, so it takes a POST (with CSRF); a link lands here first.
        return render(request, "accounts/logout.html")
    with_auth0 = request.session.get(_SIGNED_IN_WITH) == "auth0"
    id_token = request.session.get(_ID_TOKEN)
    auth_logout(request)
    config = auth0.auth0_config()
    if with_auth0 and config is not None:
        # Auth0 keeps its own session; without ending it, "sign in" would sign straight back in.
        return_to = request.build_absolute_uri("/")
        return HttpResponseRedirect(
            auth0.logout_url(config, return_to=return_to, id_token=id_token)
        )
    return HttpResponseRedirect(safe_next(request, request.POST.get("next"), "/"))


def _new_password() -> forms.PasswordInput:
    # Lets a password manager offer a strong new password rather than fill an old one.
    return forms.PasswordInput(attrs={"autocomplete": "new-password"})


class SignUpForm(forms.Form):
    username = forms.CharField(
        max_length=30,
        help_text="2 to 30 letters, digits, '-' or '_'. It is in your page's address: /u/name.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "username",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
    email = forms.EmailField(
        required=False,
        label="Email (optional)",
        help_text="Not shown on your pages.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        widget=_new_password(),
        strip=False,
        help_text="At least 8 characters, not a common password, not only digits.",
    )
    password2 = forms.CharField(label="Password again", widget=_new_password(), strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            candidate = User(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    target = safe_next(request, request.GET.get("next") or request.POST.get("next"), _me())
    if auth0.auth0_config() is not None:
        query = urlencode({"screen_hint": "signup", "next": target})
        return HttpResponseRedirect(f"{reverse('accounts:login')}?{query}")
    if request.user.is_authenticated:
        return HttpResponseRedirect(target)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email") or "",
            )
        except TapesiteError as exc:
            form.add_error("username", exc.message)
        else:
            auth_login(request, user, backend=MODEL_BACKEND)
            return HttpResponseRedirect(target)
    _focus_first_error(form)
    return render(request, "accounts/signup.html", {"form": form, "next": target})


def _focus_first_error(form: forms.Form) -> None:
    """The page opens on the first field to fix, not on the first field of the form."""
    wrong = next((name for name in form.fields if name in form.errors), None)
    if wrong is None:
        return
    for name, field in form.fields.items():
        field.widget.attrs.pop("autofocus", None)
        if name == wrong:
            field.widget.attrs["autofocus"] = True


class UsernameForm(forms.Form):
    username = forms.CharField(max_length=30)


def _tape_page(code: str) -> str:
    # The tape's page when the site has pages (the web app), else its API resource.
    try:
        return reverse("web:tape", kwargs={"code": code})
    except NoReverseMatch:
        return reverse("tapes:detail", kwargs={"code": code})


@login_required
@require_GET
def me(request: HttpRequest) -> HttpResponse:
    """The person's dashboard: their tapes as cards with what they can do to each, the ones they
    deleted and may still restore, their AT Protocol account, their username."""
    user = request.user
    assert isinstance(user, User)
    tapes = tape_selectors.tape_list_of_owner(user=user).select_related(
        "federation", "bluesky_post"
    )
    page = Paginator(tapes, 48).get_page(request.GET.get("page"))
    since = timezone.now() - timedelta(seconds=int(settings.TAPES_OWNER_UNDO_SECONDS))
    deleted = tape_selectors.tape_list_deleted_of_owner(user=user, since=since)[:48]
    atproto = atproto_account_get(user=user)
    return render(
        request,
        "accounts/me.html",
        {
            "page": page,
            "tapes": [_card(tape, atproto_linked=atproto is not None) for tape in page.object_list],
            "deleted": [
                {
                    "tape": tape,
                    "thumbnail": tape_media(tape)["thumbnail"],
                    "until": undo_deadline(tape),
                }
                for tape in deleted
            ],
            "undo_window": undo_window_words(),
            "atproto": atproto,
            "username_form": UsernameForm(initial={"username": user.username}),
            "signed_in_with": request.session.get(_SIGNED_IN_WITH, "local"),
        },
    )


def _card(tape: Tape, *, atproto_linked: bool) -> dict[str, Any]:
    federation = tape_federation_summary(tape)
    return {
        "tape": tape,
        "url": _tape_page(tape.code),
        "thumbnail": tape_media(tape)["thumbnail"],
        "unlisted": tape.visibility == TapeVisibility.UNLISTED,
        "federation": federation,
        "at": tape_at_record(tape),
        "may_send_again": atproto_linked and federation.get("state") == "failed",
    }


@login_required
@require_POST
def username_change(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = UsernameForm(request.POST)
    if form.is_valid():
        try:
            services.user_username_change(user=user, username=form.cleaned_data["username"])
        except TapesiteError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Your username is now {user.username}.")
    else:
        messages.error(request, "Type a username.")
    return redirect("accounts:me")


def _own_tape(request: HttpRequest, code: str) -> tuple[User, Tape]:
    """The signed-in user and their tape ``code`` (404 for anyone else's)."""
    user = request.user
    assert isinstance(user, User)  # login_required
    tape = tape_selectors.tape_get_of_owner(user=user, code=code)
    if tape is None:
        raise Http404("No such tape of yours")
    return user, tape


@login_required
@require_POST
def tape_federation_retry(request: HttpRequest, code: str) -> HttpResponse:
    user, tape = _own_tape(request, code)
    try:
        federation_retry(tape=tape, actor=user)
    except TapesiteError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"!{tape.code} is on its way to your PDS again.")
    return redirect("accounts:me")


@login_required
@require_POST
def tape_retry(request: HttpRequest, code: str) -> HttpResponse:
    user, tape = _own_tape(request, code)
    try:
        tape = tape_reencode(tape=tape, actor=user)
    except TapesiteError as exc:
        messages.error(request, exc.message)
    else:
        # Still "uploaded": the queue was down, and the reconcile step enqueues it later.
        queued = tape.status != TapeStatus.UPLOADED
        messages.success(
            request,
            f"!{tape.code} is queued again."
            if queued
            else f"!{tape.code} will be retried as soon as the queue is back.",
        )
    return redirect("accounts:me")
