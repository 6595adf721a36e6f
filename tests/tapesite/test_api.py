"""The single exception handler: Django's own exceptions get the API's error shape and a code, so
a failing full_clean() in a service is a 400, not a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tapes.models import Tape
from tapesite.api import as_tapesite_error
from tapesite.errors import TapesiteError


class FullCleanFailsApi(APIView):
    def post(self, request: Request) -> Response:
        # A real model validation, as a service runs before save: a tape with no fields set.
        Tape(piece="x" * 40).full_clean()
        return Response(status=201)


class NotFoundApi(APIView):
    def get(self, request: Request) -> Response:
        raise Http404("no such thing")


class ForbiddenApi(APIView):
    def get(self, request: Request) -> Response:
        raise PermissionDenied


class CrashApi(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("a bug")


urlpatterns = [
    path("clean", FullCleanFailsApi.as_view()),
    path("missing", NotFoundApi.as_view()),
    path("forbidden", ForbiddenApi.as_view()),
    path("crash", CrashApi.as_view()),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"]
    return dict(body["error"])


def test_a_failing_full_clean_is_a_400_with_a_code(api: Any) -> None:
    response = api.post("/clean", {}, format="json")
    assert response.status_code == 400
    body = error(response)
    assert body["code"] == "invalid_input"
    # details per field, as for a serializer's validation
    assert "piece" in body["details"]
    assert "slug" in body["details"]


def test_http404_is_not_found(api: Any) -> None:
    response = api.get("/missing")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_django_permission_denied_is_forbidden(api: Any) -> None:
    response = api.get("/forbidden")
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"


def test_a_bug_is_left_to_djangos_500(api: Any) -> None:
    api.raise_request_exception = False
    response = api.get("/crash")
    assert response.status_code == 500


def test_a_validation_error_without_fields_lists_its_messages() -> None:
    from django.core.exceptions import ValidationError

    converted = as_tapesite_error(ValidationError("Not like this."))
    assert isinstance(converted, TapesiteError)
    assert (converted.code, converted.status) == ("invalid_input", 400)
    assert converted.details == {"non_field_errors": ["Not like this."]}
