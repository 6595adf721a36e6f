"""What the site tells search engines: ``/sitemap.xml`` (an index of sections, each paged by
TAPES_SITEMAP_PAGE_SIZE) and ``/robots.txt``. Whole URLs use TAPES_SITE_URL, like the feeds.
See docs/feeds.md."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import SitemapIndexItem, sitemap, x_robots_tag
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from accounts.models import User
from tapes.models import Tape
from tapesite.conditional import conditional_response, validators_for
from web import selectors
from web.feeds import site_url

# Crawlers come back often and sitemaps change slowly: an hour in caches, then they revalidate.
SITEMAP_MAX_AGE = 3600


class _SiteSitemap(Sitemap):
    """A section whose URLs are on TAPES_SITE_URL, whatever host the crawler asked."""

    @property
    def limit(self) -> int:  # type: ignore[override]
        return max(1, int(settings.TAPES_SITEMAP_PAGE_SIZE))

    def get_protocol(self, protocol: str | None = None) -> str:
        return urlsplit(str(settings.TAPES_SITE_URL)).scheme or "https"

    def get_domain(self, site: Any = None) -> str:
        return urlsplit(str(settings.TAPES_SITE_URL)).netloc

    def get_latest_lastmod(self) -> datetime | None:
        # Django's default walks every item; every section changes when a listed tape does.
        if not hasattr(self, "_newest"):
            self._newest = selectors.sitemap_tapes_version()[1]
        return self._newest


class PagesSitemap(_SiteSitemap):
    """The pages that list tapes (the recorder is not content)."""

    changefreq = "hourly"

    def items(self) -> list[str]:
        return ["web:gallery"]

    def location(self, item: str) -> str:
        return reverse(item)

    def lastmod(self, item: str) -> datetime | None:
        return self.get_latest_lastmod()


class UsersSitemap(_SiteSitemap):
    """The pages of people with at least one listed tape."""

    def items(self) -> Any:
        return selectors.sitemap_users()

    def location(self, item: User) -> str:
        return reverse("web:user", kwargs={"username": item.username})

    def lastmod(self, item: User) -> datetime | None:
        newest: datetime | None = getattr(item, "newest", None)
        return newest


class TapesSitemap(_SiteSitemap):
    """Every listed, ready tape's page (never an unlisted one, nor the embed player)."""

    def items(self) -> Any:
        return selectors.sitemap_tapes()

    def location(self, item: Tape) -> str:
        return reverse("web:tape", kwargs={"code": item.code})

    def lastmod(self, item: Tape) -> datetime:
        return item.updated_at


SITEMAPS: dict[str, type[Sitemap[Any]] | Sitemap[Any]] = {
    "pages": PagesSitemap,
    "users": UsersSitemap,
    "tapes": TapesSitemap,
}


@require_safe
@x_robots_tag
@cache_control(public=True, max_age=SITEMAP_MAX_AGE)
def sitemap_index(request: HttpRequest) -> HttpResponse:
    """Like django.contrib.sitemaps.views.index, with the sections' URLs on TAPES_SITE_URL (the
    stock view uses the request's host)."""
    items = []
    count, newest = selectors.sitemap_tapes_version()
    for section in SITEMAPS:
        url = site_url(reverse("web:sitemap-section", kwargs={"section": section}))
        pages = 1
        if section == "tapes":
            pages = max(1, math.ceil(count / max(1, int(settings.TAPES_SITEMAP_PAGE_SIZE))))
        elif section == "users":
            pages = UsersSitemap().paginator.num_pages
        # Django's SitemapIndexItem declares its last_mod a bool; its template wants a date.
        items.append(SitemapIndexItem(url, newest))  # type: ignore[arg-type]
        for page in range(2, pages + 1):
            items.append(SitemapIndexItem(f"{url}?p={page}", newest))  # type: ignore[arg-type]
    headers = {"Last-Modified": http_date(newest.timestamp())} if newest else None
    return TemplateResponse(
        request,
        "sitemap_index.xml",
        {"sitemaps": items},
        content_type="application/xml",
        headers=headers,
    )


@require_safe
def sitemap_section(request: HttpRequest, section: str) -> HttpResponse:
    """A page of one section. The tapes' pages (the big ones, ~1 s for 10,000 URLs) answer
    conditionally from one aggregate; the small sections are only kept in caches a while."""

    def render() -> HttpResponse:
        response: HttpResponse = sitemap(request, sitemaps=SITEMAPS, section=section)
        return response

    if section != "tapes":
        response = render()
        response["Cache-Control"] = f"public, max-age={SITEMAP_MAX_AGE}"
        return response
    count, newest = selectors.sitemap_tapes_version()
    validators = validators_for(
        "sitemap",
        request.GET.get("p", "1"),
        str(settings.TAPES_SITE_URL),
        int(settings.TAPES_SITEMAP_PAGE_SIZE),
        count,
        newest,
        last_modified=newest,
    )
    return conditional_response(
        request, validators=validators, render=render, max_age=SITEMAP_MAX_AGE
    )


ROBOTS = """\
User-agent: *
# Tape files (thumbnails, videos) are served under /api/: let crawlers fetch them.
Allow: /api/tapes/*/media/
Disallow: /api/
Disallow: /admin/
Disallow: /django-rq/
Disallow: /accounts/
Disallow: /me
Disallow: /go

Sitemap: {sitemap}
"""


@require_safe
@cache_control(public=True, max_age=3600)
def robots_txt(request: HttpRequest) -> HttpResponse:
    body = ROBOTS.format(sitemap=site_url(reverse("web:sitemap")))
    return HttpResponse(body, content_type="text/plain; charset=utf-8")
