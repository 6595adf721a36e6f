"""CORS for the tapes API: which other websites' pages may call it from the browser.

A middleware rather than a DRF hook, because it must answer what DRF never sees or sees too late:
preflight OPTIONS (before authentication, CSRF and the throttles), the local upload endpoint's
multipart POST, and the errors Django itself answers on /api/tapes* (404, 500, a body too large).
It refuses an unregistered or suspended origin before any view runs, so a refused request
creates nothing (no upload slot). Responses carry no Allow-Credentials: pages on other sites call
as guests (``credentials: "omit"``) or with a Bearer token, never with Tapesite's cookies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from sites.models import Site
from sites.origins import origin_or_none
from sites.selectors import site_for_origin
from tapesite.errors import TapesiteError

PATH_PREFIX = "/api/tapes"
ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Content-Type, Authorization"
# The request's site, for the views (quotas, provenance): see ``request_site``.
_ATTRIBUTE = "tapes_site"


def request_site(request: Any) -> Site | None:
    """The registered, active site a cross-origin API request came from (None: Tapesite's own
    pages, or no browser at all)."""
    site = getattr(request, _ATTRIBUTE, None)
    return site if isinstance(site, Site) else None


def request_origin(request: Any) -> str:
    """The Origin a request from a registered site carried, normalised ("" otherwise)."""
    site = request_site(request)
    return site.origin if site is not None else ""


def own_origins(request: HttpRequest) -> set[str]:
    """Tapesite's own origins: the one this request was addressed to, and TAPES_SITE_URL's."""
    own = {origin_or_none(f"{request.scheme}://{request.get_host()}")}
    own.add(origin_or_none(str(settings.TAPES_SITE_URL)))
    return {origin for origin in own if origin}


def _refusal(error: TapesiteError) -> HttpResponse:
    return HttpResponse(
        json.dumps({"error": error.as_dict()}),
        status=error.status,
        content_type="application/json",
    )


def origin_not_registered(origin: str) -> TapesiteError:
    return TapesiteError(
        "origin_not_registered",
        f"Pages on {origin} may not post to Tapesite: this site is not registered. "
        "Tapesite's staff register the sites that may (ask them), or record on Tapesite itself.",
        status=403,
        details={"origin": origin},
    )


def site_suspended(site: Site) -> TapesiteError:
    return TapesiteError(
        "site_suspended",
        f"Posting from {site.name} ({site.origin}) to Tapesite is suspended for now.",
        status=403,
        details={"origin": site.origin},
    )


class ApiCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin_header = request.headers.get("Origin")
        if not request.path.startswith(PATH_PREFIX) or not _api_path(request.path):
            return self.get_response(request)
        if origin_header is None:
            response = self.get_response(request)
            # The answer depends on the Origin a browser may send next time.
            patch_vary_headers(response, ["Origin"])
            return response
        origin = origin_or_none(origin_header)
        if origin is not None and origin in own_origins(request):
            response = self.get_response(request)
            patch_vary_headers(response, ["Origin"])
            return response
        if _is_preflight(request):
            # Answered for any origin: otherwise the browser stops at the preflight and the page
            # never reads why its request is refused (the refusal comes on the request itself).
            return self._cors(HttpResponse(status=204), origin_header, preflight=True)
        site = site_for_origin(origin=origin) if origin else None
        if site is None:
            error = origin_not_registered(origin or origin_header[:200])
            return self._cors(_refusal(error), origin_header)
        if not site.active:
            return self._cors(_refusal(site_suspended(site)), origin_header)
        setattr(request, _ATTRIBUTE, site)
        return self._cors(self.get_response(request), origin_header)

    @staticmethod
    def _cors(response: HttpResponse, origin: str, *, preflight: bool = False) -> HttpResponse:
        # The Origin exactly as the browser sent it: a browser compares them byte for byte.
        response["Access-Control-Allow-Origin"] = origin
        patch_vary_headers(response, ["Origin"])
        if preflight:
            response["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response["Access-Control-Max-Age"] = str(int(settings.TAPES_CORS_MAX_AGE_SECONDS))
        else:
            # What a page may read besides the simple headers: when to retry a refusal.
            response["Access-Control-Expose-Headers"] = "Retry-After"
        return response


def _api_path(path: str) -> bool:
    rest = path[len(PATH_PREFIX) :]
    return rest == "" or rest.startswith("/")


def _is_preflight(request: HttpRequest) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
