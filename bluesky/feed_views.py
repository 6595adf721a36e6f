"""The site as a Bluesky feed generator, at the paths Bluesky's AppView calls: the did:web
document and two XRPC methods. Plain JSON views in the XRPC shapes (errors are
``{"error", "message"}``), not the site's API: the callers are AT Protocol servers.

The feed is public, so a viewer's ``Authorization: Bearer`` JWT the AppView may send is neither
verified nor needed: the same skeleton is served to everyone, and a request never fails on it.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from bluesky import feed_selectors, feedgen
from bluesky.feed_config import FeedConfig, feed_config

# How long a skeleton page may be reused: short, so a new post shows within a minute.
SKELETON_MAX_AGE = 30
DESCRIBE_MAX_AGE = 300
DID_DOCUMENT_MAX_AGE = 3600


def _json(
    body: dict[str, object], *, status: int = 200, max_age: int | None = None
) -> JsonResponse:
    response = JsonResponse(body, status=status)
    if max_age is not None:
        patch_cache_control(response, public=True, max_age=max_age)
    else:
        patch_cache_control(response, no_store=True)
    return response


def _xrpc_error(error: str, message: str, status: int = 400) -> JsonResponse:
    return _json({"error": error, "message": message}, status=status)


def _enabled() -> FeedConfig | None:
    config = feed_config()
    return config if config.enabled else None


@require_safe
def did_document(request: HttpRequest) -> JsonResponse:
    config = _enabled()
    if config is None:
        raise Http404("The feed generator is off.")
    return _json(feedgen.did_document(config.hostname), max_age=DID_DOCUMENT_MAX_AGE)


def _not_implemented() -> JsonResponse:
    return _xrpc_error("MethodNotImplemented", "This site serves no feed.", status=501)


@require_safe
def describe_feed_generator(request: HttpRequest) -> JsonResponse:
    config = _enabled()
    if config is None:
        return _not_implemented()
    return _json(
        {"did": config.service_did, "feeds": [{"uri": config.feed_uri}]},
        max_age=DESCRIBE_MAX_AGE,
    )


@require_safe
def get_feed_skeleton(request: HttpRequest) -> JsonResponse:
    config = _enabled()
    if config is None:
        return _not_implemented()
    try:
        feedgen.check_feed(request.GET.get("feed"), config.feed_uri)
        limit = feedgen.parse_limit(request.GET.get("limit"))
        page = feed_selectors.feed_page(cursor=request.GET.get("cursor") or None, limit=limit)
    except feedgen.FeedRequestError as exc:
        return _xrpc_error(exc.error, exc.message)
    body: dict[str, object] = {"feed": [{"post": uri} for uri in page.uris]}
    if page.cursor is not None:
        body["cursor"] = page.cursor
    return _json(body, max_age=SKELETON_MAX_AGE)
