"""The API's plumbing: one error shape for every 4xx (and for the 404s and 500s of any /api/ path
Django answers itself), and a JSON parser with a body limit that refuses what the database could
not store."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import set_rollback

from tapesite.errors import TapesiteError

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


class JSONFallbackNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that an Accept no renderer meets gets the first renderer (JSON)
    instead of a 406: with the browsable API off, ``Accept: text/html`` still gets the data."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            if format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE):
                raise  # an explicit ?format= the API does not speak is the client's mistake
            return renderers[0], renderers[0].media_type


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every handled failure becomes a TapesiteError and its body; anything else is a bug and
    goes on to Django's 500 handling (None)."""
    error = as_tapesite_error(exc)
    if error is None:
        return None
    # What DRF's own handler does: a failed request must not commit half of its writes.
    set_rollback()
    headers: dict[str, str] = {}
    wait = getattr(exc, "wait", None)  # Throttled's, which the stubs do not declare
    if isinstance(exc, exceptions.Throttled) and wait:
        headers["Retry-After"] = str(math.ceil(wait))
    elif error.status in (429, 503) and isinstance(error.details.get("retry_after"), int | float):
        # A refusal that knows when it ends (a posting quota) says so the standard way too.
        headers["Retry-After"] = str(math.ceil(error.details["retry_after"]))
    # DRF sets this on a failed authentication when an authenticator names its scheme (Bearer).
    auth_header = getattr(exc, "auth_header", None)
    if auth_header and error.status == 401:
        headers["WWW-Authenticate"] = auth_header
    return Response({"error": error.as_dict()}, status=error.status, headers=headers)


def as_tapesite_error(exc: Exception) -> TapesiteError | None:
    """The domain error an exception from Django, DRF or our code stands for, or None."""
    if isinstance(exc, TapesiteError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return TapesiteError("body_too_large", str(exc))
    if isinstance(exc, SuspiciousOperation):
        # Django's refusals of a hostile body: too many form fields or files, and the like.
        return TapesiteError(
            "body_invalid", "The request body was refused: too many fields or files, or malformed."
        )
    if isinstance(exc, DjangoValidationError):
        # A service's full_clean() refused the data: the caller's input, not a server fault.
        return TapesiteError(
            "invalid_input", "The request is not valid; see details.", details=_django_details(exc)
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    code, status_code = next(
        ((c, s) for t, c, s in _DRF_CODES if isinstance(exc, t)), ("error", exc.status_code)
    )
    details: dict[str, Any] | None
    if isinstance(exc, exceptions.ValidationError):
        # A serializer's errors are per field; a bare ValidationError carries a list.
        detail = exc.detail
        details = dict(detail) if isinstance(detail, dict) else {"non_field_errors": detail}
        message = "The request is not valid; see details."
    elif isinstance(exc, exceptions.Throttled):
        message = "Too many requests; slow down."
        details = {"retry_after": getattr(exc, "wait", None)}
    else:
        message, details = str(exc.detail), None
    if isinstance(exc, exceptions.ParseError) and "ultipart" in message:
        # DRF's multipart parser reports a broken form (no boundary, cut short) as a ParseError.
        code, message = "malformed_form", "The multipart form could not be read."
    return TapesiteError(code, message, status=status_code, details=details)


def _django_details(exc: DjangoValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return dict(exc.message_dict)
    return {"non_field_errors": exc.messages}


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
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise _too_deep() from exc
        _check_storable(data)
        return data


# Deeper than any real client sends, far from Python's recursion limit.
MAX_JSON_DEPTH = 32


def _too_deep() -> TapesiteError:
    return TapesiteError(
        "malformed_json",
        f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep.",
        details={"max_depth": MAX_JSON_DEPTH},
    )


def _check_storable(data: Any) -> None:
    """Refuse what PostgreSQL cannot store (NUL characters, lone UTF-16 surrogates from
    ``\\udXXX`` escapes) or the rest of the code should never have to walk (deep nesting).
    Iterative, so the check itself cannot overflow the stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not _storable_text(value):
                raise TapesiteError(
                    "invalid_text",
                    "Text may not hold NUL characters or unpaired UTF-16 surrogates.",
                )
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _storable_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _json_error(code: str, message: str, status: int) -> JsonResponse:
    # Django's own error views, outside DRF: the same body as the exception handler's.
    error = TapesiteError(code, message, status=status)
    return JsonResponse({"error": error.as_dict()}, status=error.status)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Every /api/ path nothing else answers: JSON in the error shape, never an HTML page."""
    return _json_error("not_found", "There is no API endpoint at this path.", 404)


def not_found_handler(request: HttpRequest, exception: Exception) -> Any:
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def bad_request_handler(request: HttpRequest, exception: Exception) -> Any:
    if request.path.startswith("/api/"):
        return _json_error("bad_request", "The request could not be read.", 400)
    return defaults.bad_request(request, exception)


def server_error_handler(request: HttpRequest) -> Any:
    if request.path.startswith("/api/"):
        return _json_error("server_error", "Something went wrong on our side; try again.", 500)
    return defaults.server_error(request)


__all__ = [
    "LimitedJSONParser",
    "api_not_found",
    "as_tapesite_error",
    "bad_request_handler",
    "exception_handler",
    "not_found_handler",
    "server_error_handler",
]
