"""HTTP API for tapes. Views parse input, call a service or selector, and render output."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import (
    FileUploadHandler,
    StopUpload,
    TemporaryFileUploadHandler,
)
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tapes import presenters, selectors, services
from tapes.storage import read_policy, storage_for, upload_too_large
from tapesite.errors import TapesiteError


def _signed_in(request: Request) -> Any:
    """The signed-in user, or None for a guest."""
    return request.user if request.user.is_authenticated else None


def _not_found(code: str) -> TapesiteError:
    return TapesiteError("not_found", f"No tape has the code {code!r}.", status=404)


class TapeCursorPagination(CursorPagination):
    ordering = ("-when", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except Exception as exc:  # DRF raises NotFound; an invalid cursor is the client's error
            raise TapesiteError("cursor_invalid", "The cursor is not valid.") from exc


class TapeOutput(serializers.Serializer):
    code = serializers.CharField()
    slug = serializers.CharField()
    piece = serializers.CharField()
    when = serializers.DateTimeField()
    owner = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    progress = serializers.IntegerField()
    failure = serializers.DictField(allow_null=True)
    frames = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    media = serializers.DictField()
    at = serializers.DictField(allow_null=True)
    url = serializers.CharField()


class TapeUploadStartApi(APIView):
    throttle_scope = "tape_upload"

    class Input(serializers.Serializer):
        piece = serializers.CharField(
            required=False, allow_blank=True, allow_null=True, max_length=200
        )
        bytes = serializers.IntegerField(min_value=1)

    class Output(serializers.Serializer):
        slug = serializers.CharField()
        upload = serializers.DictField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=Input, responses={201: Output}, summary="Start a tape upload")
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.tape_upload_start(
            user=_signed_in(request),
            piece=data.validated_data.get("piece"),
            size=data.validated_data["bytes"],
            base_url=request.build_absolute_uri("/"),
        )
        form = ticket.form
        out = {
            "slug": ticket.upload.slug,
            "upload": {"url": form.url, "method": form.method, "fields": form.fields},
            "expires_at": form.expires_at,
        }
        return Response(self.Output(out).data, status=status.HTTP_201_CREATED)


class _UploadSizeLimit(FileUploadHandler):
    """Counts file bytes as they stream in and stops reading past the limit, so an oversized
    body is refused without ever reaching storage."""

    def __init__(self, limit: int, request: Any = None) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class LocalUploadApi(APIView):
    """The local-storage twin of an S3 presigned POST: the signed policy is the credential, so
    there is no session (and no CSRF token) involved, exactly as with S3."""

    authentication_classes: list[Any] = []
    parser_classes = [MultiPartParser]
    throttle_scope = "tape_upload"

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        limit = int(settings.TAPES_UPLOAD_MAX_BYTES)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        # Multipart framing adds a little; anything beyond that is refused before reading a byte.
        if declared > limit + 64 * 1024:
            raise upload_too_large(max_bytes=limit)
        meter = _UploadSizeLimit(limit, request._request)
        request._request.upload_handlers = [meter, TemporaryFileUploadHandler(request._request)]
        fields: Any = request.data
        files = request.FILES
        if meter.exceeded:
            raise upload_too_large(max_bytes=limit)
        policy = read_policy(str(fields.get("policy", "")))
        if fields.get("key") != policy.key:
            raise TapesiteError(
                "upload_policy_invalid", "The policy does not allow writing this key.", status=403
            )
        if fields.get("Content-Type") != policy.content_type:
            raise TapesiteError(
                "upload_type_invalid",
                f"The upload's Content-Type must be {policy.content_type}.",
                status=403,
            )
        upload = files.get("file")
        if upload is None or not upload.size:
            raise TapesiteError("upload_file_missing", "The form has no non-empty 'file' part.")
        if upload.size > policy.max_bytes:
            raise upload_too_large(max_bytes=policy.max_bytes)
        storage_for(policy.bucket).save(policy.key, upload)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TapeCollectionApi(APIView):
    class ListFilter(serializers.Serializer):
        owner = serializers.CharField(required=False, max_length=150)

    class CreateInput(serializers.Serializer):
        slug = serializers.CharField(max_length=100)
        metadata = serializers.DictField(required=False, allow_empty=True)

    class CreateOutput(serializers.Serializer):
        code = serializers.CharField()
        slug = serializers.CharField()
        status = serializers.CharField()
        url = serializers.CharField()

    def get_throttles(self) -> list[Any]:
        self.throttle_scope = "tape_post" if self.request.method == "POST" else "tape_read"
        return super().get_throttles()

    @extend_schema(
        parameters=[
            OpenApiParameter("owner", str, description="Only this user's tapes."),
            OpenApiParameter("cursor", str, description="The cursor from a previous page."),
            OpenApiParameter("limit", int, description="Page size, at most 100."),
        ],
        responses={200: TapeOutput(many=True)},
        summary="List tapes, newest first",
    )
    def get(self, request: Request) -> Response:
        filters = self.ListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = TapeCursorPagination()
        page = paginator.paginate_queryset(
            selectors.tape_list(owner=filters.validated_data.get("owner")), request, view=self
        )
        items = [presenters.tape_public(tape, request=request) for tape in page or []]
        return paginator.get_paginated_response(TapeOutput(items, many=True).data)

    @extend_schema(request=CreateInput, responses={201: CreateOutput}, summary="Post a tape")
    def post(self, request: Request) -> Response:
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        tape = services.tape_create(
            user=_signed_in(request),
            slug=data.validated_data["slug"],
            metadata=data.validated_data.get("metadata"),
        )
        tape.refresh_from_db(fields=["status"])
        out = {
            "code": tape.code,
            "slug": tape.slug,
            "status": tape.status,
            "url": presenters.tape_url(tape, request=request),
        }
        return Response(self.CreateOutput(out).data, status=status.HTTP_201_CREATED)


class TapeDetailApi(APIView):
    def get_throttles(self) -> list[Any]:
        self.throttle_scope = "tape_post" if self.request.method == "DELETE" else "tape_read"
        return super().get_throttles()

    @extend_schema(responses={200: TapeOutput}, summary="A tape by its code")
    def get(self, request: Request, code: str) -> Response:
        tape = selectors.tape_get(code=code)
        if tape is None:
            raise _not_found(code)
        return Response(TapeOutput(presenters.tape_public(tape, request=request)).data)

    @extend_schema(responses={204: None}, summary="Delete (nuke) a tape")
    def delete(self, request: Request, code: str) -> Response:
        if not request.user.is_authenticated:
            raise TapesiteError("not_authenticated", "Sign in to delete a tape.", status=401)
        tape = selectors.tape_get(code=code)
        if tape is None:
            raise _not_found(code)
        services.tape_nuke(tape=tape, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
