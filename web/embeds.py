"""Tapes on other sites (docs/embeds.md): the embed page other sites put in an iframe, and the
oEmbed endpoint that tells them how.

The embed page is the only page of the site that may be framed (``allow_framing("*")``). An
unlisted tape embeds for whoever has its link, as its page opens for them; a nuked or deleted
tape's embed is a small card saying it is gone, and oEmbed has no answer for it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tapes import caching, selectors
from tapes.presenters import tapes_for_output
from tapesite.errors import TapesiteError
from tapesite.headers import allow_framing
from web import presenters
from web.oembed import code_from_tape_url, oembed_xml

FORMATS = ("json", "xml")


@require_GET
@allow_framing("*")
def tape_embed(request: HttpRequest, code: str) -> HttpResponseBase:
    found = tapes_for_output(selectors.tapes_with_code(code=code)).first()
    if found is None:
        # 410 for a tape that was here and was taken down (the host page's crawler may forget
        # it), 404 for a code that never was; both show the card, not the site's big 404 page.
        nuked = selectors.tape_get_deleted(code=code) is not None
        context = {"code": code, "nuked": nuked}
        gone = render(request, "web/embed_gone.html", context, status=410 if nuked else 404)
        return caching.tape_read_response(request, gone, tape=None)
    tape = presenters.tape_embed(found, request)
    response = render(request, "web/embed.html", {"tape": tape, "state": tape["state"]})
    # The tape's page is the one to index, whatever the tape's visibility.
    response["X-Robots-Tag"] = "noindex"
    return caching.tape_read_response(request, response, tape=found)


def _refusal(error: TapesiteError) -> JsonResponse:
    response = JsonResponse({"error": error.as_dict()}, status=error.status)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _dimension(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise TapesiteError(
            "invalid_input", f"{name} must be a whole number of pixels, at least 1.", status=400
        )
    return int(value)


def _site_hosts(request: HttpRequest) -> set[str]:
    """This site's host as the request named it (ALLOWED_HOSTS vetted it), and the public one."""
    hosts = {request.get_host().lower()}
    public = urlsplit(str(settings.TAPES_SITE_URL)).netloc.lower()
    if public:
        hosts.add(public)
    return hosts


@require_GET
def oembed(request: HttpRequest) -> HttpResponseBase:
    """``/oembed?url=<a tape's page>&format=json|xml[&maxwidth=&maxheight=]`` (the oEmbed
    spec's provider endpoint): a ``video`` whose html is the embed's iframe."""
    try:
        wanted = request.GET.get("format", "json").strip().lower() or "json"
        if wanted not in FORMATS:
            raise TapesiteError(
                "format_unsupported", "oEmbed answers in json or xml only.", status=501
            )
        maxwidth = _dimension(request, "maxwidth")
        maxheight = _dimension(request, "maxheight")
        url = request.GET.get("url", "")
        if not url:
            raise TapesiteError("invalid_input", "url is required: a tape's link.", status=400)
        code = code_from_tape_url(url, hosts=_site_hosts(request))
        found = tapes_for_output(selectors.tapes_with_code(code=code)).first() if code else None
        answer = (
            presenters.tape_oembed(found, request, maxwidth=maxwidth, maxheight=maxheight)
            if found is not None
            else None
        )
        if answer is None:
            raise TapesiteError(
                "not_found", "No tape of this site to embed at that link.", status=404
            )
    except TapesiteError as error:
        return caching.never_stored(_refusal(error))
    if wanted == "xml":
        response: HttpResponse = HttpResponse(
            oembed_xml(answer), content_type="text/xml; charset=utf-8"
        )
    else:
        response = JsonResponse(answer)
    # Public facts about a public link: any page may read them (oEmbed clients run in browsers
    # too), and caches may keep them as long as the tape's own page (tapes.caching).
    response["Access-Control-Allow-Origin"] = "*"
    return caching.tape_read_response(request, response, tape=found)
