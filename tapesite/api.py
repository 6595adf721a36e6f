"""The API's plumbing: one error shape for every 4xx, and a JSON parser with a body limit."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

_DRF_CODES: list[tuple[type[exceptions.APIException], str, int]] = [
    (exceptions.ParseError, "malformed_json", 400),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", 415),
    (exceptions.NotAuthenticated, "not_authenticated", 401),
    (exceptions.AuthenticationFailed, "authentication_failed", 401),
    (exceptions.PermissionDenied, "forbidden", 403),
    (exceptions.NotFound, "not_found", 404),
    (exceptions.MethodNotAllowed, "method_not_allowed", 405),
    (exceptions.NotAcceptable, "not_acceptable", 406),
    (exceptions.Throttled, "throttled", 429),
    (exceptions.ValidationError, "invalid_input", 400),
]


def error_response(
    code: str, message: str, status_code: int, details: Any = None, headers: Any = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return Response({"error": body}, status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, TapesiteError):
        return error_response(exc.code, exc.message, exc.status, exc.details)
    if isinstance(exc, RequestDataTooBig):
        return error_response("body_too_large", str(exc), 400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code, status_code = next(
        ((c, s) for t, c, s in _DRF_CODES if isinstance(exc, t)), ("error", response.status_code)
    )
    details: Any
    if isinstance(exc, exceptions.ValidationError):
        message, details = "The request is not valid; see details.", exc.detail
    elif isinstance(exc, exceptions.Throttled):
        message, details = (
            "Too many requests; slow down.",
            {"retry_after": getattr(exc, "wait", None)},
        )
    else:
        message, details = str(exc.detail), None
    headers = {k: v for k, v in response.headers.items() if k in ("Retry-After", "Allow")}
    return error_response(code, message, status_code, details, headers)


class LimitedJSONParser(JSONParser):
    """JSON with a size limit enforced before reading: DRF reads the raw stream, which bypasses
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE check."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        request = (parser_context or {}).get("request")
        limit = int(settings.TAPES_API_MAX_BODY_BYTES)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            length = 0
        if length > limit:
            raise TapesiteError(
                "body_too_large",
                f"A request body may be at most {limit} bytes.",
                details={"max_bytes": limit},
            )
        return super().parse(stream, media_type, parser_context)


__all__ = ["LimitedJSONParser", "error_response", "exception_handler", "status"]
