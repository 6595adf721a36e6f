"""What the site tells search engines: ``/sitemap.xml`` (an index of sections, each paged by
TAPES_SITEMAP_PAGE_SIZE) and ``/robots.txt``. Whole URLs use TAPES_SITE_URL, like the feeds.
See docs/feeds.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import SitemapIndexItem, x_robots_tag
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from accounts.models import User
from tapes.models import Tape
from web import selectors
from web.feeds import site_url


class _SiteSitemap(Sitemap):
    """A section whose URLs are on TAPES_SITE_URL, whatever host the crawler asked."""

    @property
    def limit(self) -> int:  # type: ignore[override]
        return max(1, int(settings.TAPES_SITEMAP_PAGE_SIZE))

    def get_protocol(self, protocol: str | None = None) -> str:
        return urlsplit(str(settings.TAPES_SITE_URL)).scheme or "https"

    def get_domain(self, site: Any = None) -> str:
        return urlsplit(str(settings.TAPES_SITE_URL)).netloc


class PagesSitemap(_SiteSitemap):
    """The pages that list tapes (the recorder is not content)."""

    changefreq = "hourly"

    def items(self) -> list[str]:
        return ["web:gallery"]

    def location(self, item: str) -> str:
        return reverse(item)

    def lastmod(self, item: str) -> datetime | None:
        return selectors.sitemap_tapes_changed()

    def get_latest_lastmod(self) -> datetime | None:
        return selectors.sitemap_tapes_changed()


class UsersSitemap(_SiteSitemap):
    """The pages of people with at least one listed tape."""

    def items(self) -> Any:
        return selectors.sitemap_users()

    def location(self, item: User) -> str:
        return reverse("web:user", kwargs={"username": item.username})

    def lastmod(self, item: User) -> datetime | None:
        newest: datetime | None = getattr(item, "newest", None)
        return newest

    def get_latest_lastmod(self) -> datetime | None:
        return selectors.sitemap_tapes_changed()


class TapesSitemap(_SiteSitemap):
    """Every listed, ready tape's page (never an unlisted one, nor the embed player)."""

    def items(self) -> Any:
        return selectors.sitemap_tapes()

    def location(self, item: Tape) -> str:
        return reverse("web:tape", kwargs={"code": item.code})

    def lastmod(self, item: Tape) -> datetime:
        return item.updated_at

    def get_latest_lastmod(self) -> datetime | None:
        # Django's default walks every item; one aggregate answers the same.
        return selectors.sitemap_tapes_changed()


SITEMAPS: dict[str, type[Sitemap]] = {
    "pages": PagesSitemap,
    "users": UsersSitemap,
    "tapes": TapesSitemap,
}


@require_safe
@x_robots_tag
def sitemap_index(request: HttpRequest) -> HttpResponse:
    """Like django.contrib.sitemaps.views.index, with the sections' URLs on TAPES_SITE_URL (the
    stock view uses the request's host)."""
    items = []
    newest: datetime | None = None
    for section, kind in SITEMAPS.items():
        sitemap = kind()
        url = site_url(reverse("web:sitemap-section", kwargs={"section": section}))
        lastmod = sitemap.get_latest_lastmod()
        if lastmod is not None:
            newest = lastmod if newest is None else max(newest, lastmod)
        # Django's SitemapIndexItem declares its last_mod a bool; its template wants a date.
        items.append(SitemapIndexItem(url, lastmod))  # type: ignore[arg-type]
        for page in range(2, sitemap.paginator.num_pages + 1):
            items.append(SitemapIndexItem(f"{url}?p={page}", lastmod))  # type: ignore[arg-type]
    headers = {"Last-Modified": http_date(newest.timestamp())} if newest else None
    return TemplateResponse(
        request,
        "sitemap_index.xml",
        {"sitemaps": items},
        content_type="application/xml",
        headers=headers,
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
