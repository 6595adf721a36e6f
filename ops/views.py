"""Probes and metrics for operators: /healthz, /readyz, /metrics."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ops import health, metrics


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so a database outage never gets
    every web process restarted."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, Redis and storage all answer, else 503 naming the
    parts that did not (details go to the log, not to whoever polls)."""
    results = health.readiness()
    failed = [result.name for result in results if not result.ok]
    body: dict[str, object] = {
        "status": "unavailable" if failed else "ok",
        "checks": {result.name: "ok" if result.ok else "failed" for result in results},
    }
    if failed:
        body["failed"] = failed
        body["message"] = "Not reachable: " + ", ".join(failed) + "."
    return JsonResponse(body, status=503 if failed else 200)


def _may_scrape(request: HttpRequest) -> bool:
    token = str(getattr(settings, "TAPES_METRICS_TOKEN", "") or "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        given = header.removeprefix("Bearer ").strip()
        if hmac.compare_digest(given.encode(), token.encode()):
            return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition. Scrapers send ``Authorization: Bearer $TAPES_METRICS_TOKEN``;
    staff signed in to the admin may read it in a browser. Without a token set, only staff."""
    if not _may_scrape(request):
        response = JsonResponse(
            {
                "error": {
                    "code": "metrics_unauthorized",
                    "message": "Send 'Authorization: Bearer <TAPES_METRICS_TOKEN>' or sign in "
                    "as staff.",
                }
            },
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.render(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)
