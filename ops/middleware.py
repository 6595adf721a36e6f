from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ops import views

_PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": views.healthz,
    "/readyz": views.readyz,
}


class ProbeMiddleware:
    """Answers /healthz and /readyz first, before the host check, the HTTPS redirect, sessions
    and authentication: orchestrators probe a node by its IP over plain HTTP, and a probe polled
    every few seconds should not open a session or a database transaction of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = _PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
