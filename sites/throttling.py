"""The per-site rate limit: upload starts and posts from one registered site's pages per minute,
counted across every client of that site, on top of each client's own limit. Same counters as
the per-client throttles (tapesite.throttling: one Redis round trip, fails open)."""

from __future__ import annotations

import math
from typing import Any

from sites.cors import request_site
from tapesite.errors import TapesiteError
from tapesite.throttling import ScopedRateThrottle


class SiteRateThrottle(ScopedRateThrottle):
    """Limits only requests that came from a registered site's pages (``request_site``); a view
    names what it counts with ``site_throttle_scope`` ("post" or "upload")."""

    def allow_request(self, request: Any, view: Any) -> bool:
        site = request_site(request)
        scope = getattr(view, "site_throttle_scope", None)
        if site is None or not scope or request.method != "POST":
            return True
        limit = site.limit_posts_per_minute()
        self.rate = f"{limit}/min"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.allow_keyed(f"throttle_site_{scope}_{site.pk}"):
            return True
        wait = self.wait() or 1.0
        raise TapesiteError(
            "throttled",
            f"Pages on {site.name} have posted to Tapesite {limit} times in the last minute, "
            "which is all this site may; try again shortly.",
            status=429,
            details={"scope": "site", "max": limit, "retry_after": max(1, math.ceil(wait))},
        )
