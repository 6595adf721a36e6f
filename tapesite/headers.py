"""The browser-facing security headers every response carries: Content-Security-Policy and
Permissions-Policy (HSTS, Referrer-Policy and nosniff are Django's SecurityMiddleware's).

The policy is ``CONTENT_SECURITY_POLICY`` (settings/base.py) plus the origins the site itself
sends browsers to, derived from the settings so they never drift from them: the storage the
media links and upload forms point at (S3 presigned URLs live on another origin), and the
sign-in provider, which form-action must allow because signing out POSTs to the site and is
redirected there.

Django 5.2 has no CSP of its own (6.0 does): this is the small middleware the site needs, and no
more. A view meant to be embedded on other sites says so with ``allow_framing``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.http.response import HttpResponseBase

CSP_HEADER = "Content-Security-Policy"
PERMISSIONS_HEADER = "Permissions-Policy"

# Directives that name where the browser may fetch from or send to: storage's origins join them.
_STORAGE_DIRECTIVES = ("img-src", "media-src", "connect-src")

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])

_cache: dict[str, str] = {}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None  # a path on this site: 'self' covers it
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def storage_origins() -> list[str]:
    """The origins of the tape buckets' media links and upload forms (none for local files,
    which the site serves itself). Asked of the storage backends themselves, so a custom
    domain, virtual-host addressing or another endpoint is picked up as configured. Signing
    the sample URLs is local: nothing is sent anywhere."""
    found: list[str] = []
    for alias in settings.TAPES_BUCKET_STORAGES.values():
        storage = storages[alias]
        urls = [storage.url("csp-probe")]
        connection = getattr(storage, "connection", None)
        bucket = getattr(storage, "bucket_name", None)
        if connection is not None and bucket:
            client = connection.meta.client
            urls.append(client.generate_presigned_post(Bucket=bucket, Key="csp-probe")["url"])
            urls.append(
                client.generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": "csp-probe"}
                )
            )
        for url in urls:
            origin = _origin(url)
            if origin and origin not in found:
                found.append(origin)
    return found


def sign_in_origins() -> list[str]:
    """The sign-in provider's origin, when the site signs in through one (Auth0)."""
    issuer = settings.AUTH0_ISSUER or (
        f"https://{settings.AUTH0_DOMAIN.strip().removeprefix('https://').strip('/')}/"
        if settings.AUTH0_DOMAIN
        else ""
    )
    origin = _origin(issuer) if issuer else None
    return [origin] if origin else []


def build_policy(
    directives: dict[str, list[str]],
    *,
    storage: Iterable[str] = (),
    sign_in: Iterable[str] = (),
) -> dict[str, list[str]]:
    """``directives`` with the storage origins in the fetch directives that load or send tapes
    and the provider's in form-action. Pure: the tests check it without a site."""
    policy = {name: list(sources) for name, sources in directives.items()}
    for name in _STORAGE_DIRECTIVES:
        if name in policy:
            policy[name] += [origin for origin in storage if origin not in policy[name]]
    if "form-action" in policy:
        policy["form-action"] += [o for o in sign_in if o not in policy["form-action"]]
    return policy


def serialize(policy: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *sources]) for name, sources in policy.items())


def _site_policy() -> str:
    if "csp" not in _cache:
        policy = build_policy(
            settings.CONTENT_SECURITY_POLICY,
            storage=storage_origins(),
            sign_in=sign_in_origins(),
        )
        _cache["csp"] = serialize(policy)
    return _cache["csp"]


def _permissions_policy() -> str:
    if "permissions" not in _cache:
        _cache["permissions"] = ", ".join(
            f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DENY
        )
    return _cache["permissions"]


def _forget(**_: Any) -> None:
    # Tests (and only tests) change settings in a running process.
    _cache.clear()


setting_changed.connect(_forget, dispatch_uid="tapesite.headers.forget")


def _with_frame_ancestors(policy: str, ancestors: list[str]) -> str:
    parts = [p for p in policy.split("; ") if not p.startswith("frame-ancestors ")]
    return "; ".join([*parts, " ".join(["frame-ancestors", *ancestors])])


class SecurityHeadersMiddleware:
    """Adds Content-Security-Policy and Permissions-Policy to every response that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code in (404, 500):
            # Django's debug pages are built with inline scripts and styles; production never
            # shows them.
            return response
        if CSP_HEADER not in response:
            policy = _site_policy()
            ancestors = getattr(response, "csp_frame_ancestors", None)
            if ancestors is not None:
                policy = _with_frame_ancestors(policy, list(ancestors))
            response[CSP_HEADER] = policy
        if PERMISSIONS_HEADER not in response:
            response[PERMISSIONS_HEADER] = _permissions_policy()
        return response


def allow_framing(*ancestors: str) -> Callable[[ViewFunc], ViewFunc]:
    """Let other sites embed this view: ``@allow_framing("*")`` for anyone, or
    ``@allow_framing("https://example.org")``. Everything else stays unframable
    (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``)."""
    if not ancestors:
        raise ValueError("allow_framing needs at least one origin (or '*')")

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def framed(*args: Any, **kwargs: Any) -> HttpResponseBase:
            response = view(*args, **kwargs)
            response.csp_frame_ancestors = list(ancestors)  # type: ignore[attr-defined]
            # Browsers that know CSP ignore X-Frame-Options when frame-ancestors is present,
            # but older ones read only the latter: it must not say DENY.
            response.xframe_options_exempt = True  # type: ignore[attr-defined]
            return response

        return framed  # type: ignore[return-value]

    return decorate
